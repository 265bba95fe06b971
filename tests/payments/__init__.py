"""Tests of `sbtc_gateway.payments`: `test_<module>.py` tests `payments/<module>.py`."""
