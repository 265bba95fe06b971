"""Tests of `sbtc_gateway.cli`: `test_<module>.py` tests `cli/<module>.py`."""
