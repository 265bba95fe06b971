"""Tests of `sbtc_gateway.ledger`: `test_<module>.py` tests `ledger/<module>.py`."""
