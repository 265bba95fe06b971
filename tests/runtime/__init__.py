"""Tests of `sbtc_gateway.runtime`: `test_<module>.py` tests `runtime/<module>.py`."""
