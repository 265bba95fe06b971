"""Tests of `scripts/`: `test_<module>.py` tests `scripts/<module>.py`."""
