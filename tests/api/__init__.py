"""Tests of `sbtc_gateway.api`: `test_<module>.py` tests `api/<module>.py`."""
