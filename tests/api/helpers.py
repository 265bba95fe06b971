"""Helpers the HTTP-edge suites share (rate limits, CORS, deprecation, readiness)."""

from __future__ import annotations

from typing import Any

from sbtc_gateway.config import Settings
from tests.conftest import TEST_ADDRESS, redis_test_prefix


def settings_variant(base: Settings, **overrides: Any) -> Settings:
    """A variant with its own Redis keys (when the suite runs with TEST_SHARED_STATE=redis)."""
    return base.model_copy(update={"redis_key_prefix": redis_test_prefix(), **overrides})


def signup_data() -> dict[str, str]:
    import secrets

    return {
        "business_name": "Shop",
        "email": f"edge-{secrets.token_hex(6)}@example.com",
        "stacks_address": TEST_ADDRESS,
    }
