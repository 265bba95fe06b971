"""Deprecated endpoints and parameters announced in headers (`api/deprecation.py`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sbtc_gateway.config import Settings
from tests.api.helpers import signup_data


async def test_signup_tier_parameter_is_deprecated(client: httpx.AsyncClient) -> None:
    with_tier = await client.post("/v1/merchants", data={**signup_data(), "tier": "growth"})
    assert with_tier.status_code == 200
    assert with_tier.headers["Deprecation"] == "@1795564800"
    assert with_tier.headers["Sunset"] == "Tue, 01 Jun 2027 00:00:00 GMT"
    assert 'rel="deprecation"' in with_tier.headers["Link"]
    without = await client.post("/v1/merchants", data=signup_data())
    assert "Deprecation" not in without.headers


async def test_deprecated_endpoint_registry(
    sqlite_settings: Settings, make_instance: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sbtc_gateway.api import deprecation

    gone = deprecation.Deprecation("old-health", deprecated_at=1_700_000_000)
    monkeypatch.setitem(deprecation.ENDPOINTS, ("GET", "/health"), gone)
    instance = await make_instance(sqlite_settings)
    response = await instance.client.get("/health")
    assert response.headers["Deprecation"] == "@1700000000"
    assert "Sunset" not in response.headers
