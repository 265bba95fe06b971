"""Shared state behind narrow interfaces: cache, rate limiter, nonce store, pub/sub.

Each interface has an in-process implementation (the embedded default, one process) and a Redis
one (several replicas). Redis holds nothing that cannot be lost; when it is unreachable every
Redis implementation falls back to its in-process twin and says so in logs and metrics.
"""
