"""Tests of `sbtc_gateway.watcher`: `test_<module>.py` tests `watcher/<module>.py`."""
