"""Tests of `sbtc_gateway.db`: `test_<module>.py` tests `db/<module>.py`."""
