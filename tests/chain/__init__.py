"""Tests of `sbtc_gateway.chain`: `test_<module>.py` tests `chain/<module>.py`."""
