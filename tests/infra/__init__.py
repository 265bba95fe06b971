"""Tests of `sbtc_gateway.infra`: `test_<module>.py` tests `infra/<module>.py`."""
