"""Tests of `sbtc_gateway.observability`: `test_<module>.py` tests `observability/<module>.py`."""
