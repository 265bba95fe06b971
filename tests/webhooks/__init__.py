"""Tests of `sbtc_gateway.webhooks`: `test_<module>.py` tests `webhooks/<module>.py`."""
