"""Tests of `sbtc_gateway.merchants`: `test_<module>.py` tests `merchants/<module>.py`."""
