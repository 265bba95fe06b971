"""Headers every response carries (`api/middleware.py`): CORS for browsers."""

from __future__ import annotations

from typing import Any

import httpx

from sbtc_gateway.config import Settings
from tests.api.helpers import settings_variant


async def test_cors_preflight_and_exposed_headers(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/v1/payment_intents/pi_123/confirm",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    response = await client.get("/health", headers={"Origin": "https://shop.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "request-id" in response.headers["Access-Control-Expose-Headers"].lower()


async def test_cors_restricted_to_configured_origins(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    instance = await make_instance(
        settings_variant(sqlite_settings, cors_origins="https://shop.example")
    )
    ok = await instance.client.get("/health", headers={"Origin": "https://shop.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    other = await instance.client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
