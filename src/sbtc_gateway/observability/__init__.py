"""Metrics, request-scoped log context and tracing (no HTTP-framework imports)."""
