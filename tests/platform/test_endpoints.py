"""`/v1/platform/*`: operators only (their own tokens), from allowed addresses only; the
realtime view across merchants and the health of every service."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from sbtc_gateway.platform import service
from tests.conftest import Merchant


async def _operator(app: Any) -> str:
    gw = app.state.gateway
    async with gw.sessions.begin() as session:
        _, token = await service.create_operator(
            session, gw.key_secret, f"ops-{secrets.token_hex(4)}@example.com", "Ops"
        )
    return token


async def test_an_operator_sees_health_and_realtime(app: Any, client: httpx.AsyncClient) -> None:
    token = await _operator(app)
    auth = {"Authorization": f"Bearer {token}"}
    health = await client.get("/v1/platform/health", headers=auth)
    assert health.status_code == 200, health.text
    body = health.json()
    assert body["services"]["database"]["status"] == "up"
    assert body["services"]["analytics_database"]["status"] == "up"
    assert {"webhooks", "analytics", "reports", "watcher"} <= set(body["backlogs"])
    realtime = await client.get("/v1/platform/analytics/realtime", headers=auth)
    assert realtime.status_code == 200
    assert [w["minutes"] for w in realtime.json()["windows"]] == [5, 60]


async def test_merchants_and_strangers_are_refused(
    app: Any, client: httpx.AsyncClient, merchant: Merchant, make_instance: Any
) -> None:
    for headers in ({}, merchant.headers(), {"Authorization": "Bearer sbtcop_000000000000_nope"}):
        response = await client.get("/v1/platform/health", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "operator_token_invalid"
    token = await _operator(app)
    outside = await make_instance(app.state.gateway.settings, client_addr=("198.51.100.9", 4000))
    response = await outside.client.get(
        "/v1/platform/health", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "platform_ip_not_allowed"


async def test_a_disabled_operator_is_refused(app: Any, client: httpx.AsyncClient) -> None:
    gw = app.state.gateway
    email = f"ops-{secrets.token_hex(4)}@example.com"
    async with gw.sessions.begin() as session:
        _, token = await service.create_operator(session, gw.key_secret, email, None)
    async with gw.sessions.begin() as session:
        assert await service.disable(session, email)
    response = await client.get("/v1/platform/health", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
