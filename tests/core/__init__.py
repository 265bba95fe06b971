"""Tests of `sbtc_gateway.core`: `test_<module>.py` tests `core/<module>.py`."""
