"""Tests of `sbtc_gateway.users`: `test_<module>.py` tests `users/<module>.py`."""
