"""Idempotency keys: one stored outcome per (API key, Idempotency-Key), replayed for 24 h."""
