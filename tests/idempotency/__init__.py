"""Tests of `sbtc_gateway.idempotency`: `test_<module>.py` tests `idempotency/<module>.py`."""
