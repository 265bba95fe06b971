"""Test doubles (the in-memory chain, ADR 0201) and their own tests: `test_chain.py` tests
`chain.py`."""
