"""Tests of `sbtc_gateway.chainstate`: `test_<module>.py` tests `chainstate/<module>.py`."""
