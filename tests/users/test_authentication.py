"""Dashboard auth at the edge: login rate limits, logout seen by another replica, the official
Stripe SDK with an access token."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import stripe

from sbtc_gateway.config import Settings
from tests.conftest import Merchant, ServerThread, sign_up
from tests.runtime.test_replicas import watch_clear
from tests.users.test_endpoints import PASSWORD, bearer, error, login, session_for


async def test_login_is_rate_limited_per_email_and_per_ip(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    settings = sqlite_settings.model_copy(update={"login_rate_limit_per_minute": 3})
    gw = await make_instance(settings, client_addr=("10.1.1.1", 1000))
    m = await sign_up(gw.client, password=PASSWORD)
    email = m.body["email"]
    for _ in range(3):
        assert (await login(gw.client, email, "wrong password guess")).status_code == 401
    limited = await login(gw.client, email)  # even the right password now waits
    assert limited.status_code == 429
    assert error(limited)["code"] == "rate_limit"
    assert int(limited.headers["Retry-After"]) >= 1

    # per email: from another address, this email is limited too
    async with _client_from(gw.app, "10.2.2.2") as elsewhere:
        assert (await login(elsewhere, email)).status_code == 429
    # per IP: one address guessing many emails
    async with _client_from(gw.app, "10.3.3.3") as other:
        for n in range(3):
            assert (await login(other, f"guess{n}@example.com")).status_code == 401
        assert (await login(other, "guess-more@example.com")).status_code == 429


def _client_from(app: Any, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 1000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway.test")


async def test_logout_reaches_every_replica(
    sqlite_settings: Settings, make_instance: Any, redis_url: str, redis_prefix: str
) -> None:
    settings = sqlite_settings.model_copy(
        update={"redis_url": redis_url, "redis_key_prefix": redis_prefix}
    )
    a = await make_instance(settings)
    b = await make_instance(settings)
    for replica in (a, b):
        await asyncio.wait_for(replica.gateway.shared.pubsub.ready.wait(), 10)
    m = await sign_up(a.client, password=PASSWORD)
    s = await session_for(a.client, m.body["email"])
    on_a = Merchant(a.client, m.body)
    assert (await on_a.get("/v1/account", key=s["access_token"])).status_code == 200  # cached on A

    cleared = watch_clear(a.gateway.authenticator.sessions_cache)
    out = await b.client.post("/v1/auth/logout", headers=bearer(s["access_token"]))
    assert out.status_code == 200
    await asyncio.wait_for(cleared.wait(), 10)  # the pub/sub message reached A
    denied = await on_a.get("/v1/account", key=s["access_token"])
    assert denied.status_code == 401
    assert error(denied)["code"] == "session_revoked"


def test_stripe_sdk_with_an_access_token(live_server: ServerThread) -> None:
    import uuid

    email = f"sdk-user-{uuid.uuid4().hex[:10]}@example.com"
    signed_up = httpx.post(
        f"{live_server.url}/v1/merchants",
        data={
            "business_name": "SDK Shop",
            "email": email,
            "stacks_address": "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG",
            "password": PASSWORD,
        },
    )
    assert signed_up.status_code == 200, signed_up.text
    token = httpx.post(
        f"{live_server.url}/v1/auth/login", data={"email": email, "password": PASSWORD}
    ).json()["access_token"]
    client = stripe.StripeClient(token, base_addresses={"api": live_server.url})
    created = client.v1.payment_intents.create(params={"amount": 25_000, "currency": "sbtc"})
    listed = client.v1.payment_intents.list()
    assert [pi.id for pi in listed.data] == [created.id]
