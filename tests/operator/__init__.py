"""Tests of `sbtc_gateway.operator`: `test_<module>.py` tests `operator/<module>.py`."""
