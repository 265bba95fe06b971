"""Test and live mode are two isolated data sets behind one API, as in Stripe (cross-cutting:
every domain keeps the two apart, so it stays at the top of tests/)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from sbtc_gateway.config import Settings
from sbtc_gateway.merchants import service as merchants
from sbtc_gateway.runtime.app import create_app
from tests.conftest import MAINNET_ADDRESS, make_settings, sign_up, stand_in_for_mainnet

LIVE_CONTRACT = f"{MAINNET_ADDRESS}.sbtc-payment-gateway"


@pytest_asyncio.fixture(scope="module")
async def live_client(settings: Settings) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    live = make_settings(
        settings.resolved_database_url,
        settings.data_dir,
        mode="live",
        live_gateway_contract=LIVE_CONTRACT,
    )
    app = create_app(live)
    async with app.router.lifespan_context(app):
        stand_in_for_mainnet(app)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            yield app, c


async def test_live_keys_see_only_live_data(live_client: tuple[Any, httpx.AsyncClient]) -> None:
    app, client = live_client
    merchant = await sign_up(client)
    async with app.state.gateway.sessions.begin() as session:
        _, issued = await merchants.activate(
            session, merchant.id, MAINNET_ADDRESS, key_secret=app.state.gateway.key_secret
        )
    live_sk = next(k.plaintext for k in issued if k.kind == "secret")
    test_pi = await merchant.create_intent()
    live = await merchant.post(
        "/v1/payment_intents", {"amount": 5000, "currency": "sbtc", "confirm": "true"}, key=live_sk
    )
    assert live.status_code == 200, live.text
    body = live.json()
    assert body["livemode"] is True
    assert test_pi["livemode"] is False
    assert body["sbtc"]["payout_address"] == MAINNET_ADDRESS
    call = body["next_action"]["sbtc_contract_call"]
    assert call["network"] == "mainnet"
    assert call["contract_id"] == LIVE_CONTRACT

    live_ids = [
        p["id"] for p in (await merchant.get("/v1/payment_intents", key=live_sk)).json()["data"]
    ]
    test_ids = [p["id"] for p in (await merchant.get("/v1/payment_intents")).json()["data"]]
    assert live_ids == [body["id"]]
    assert test_ids == [test_pi["id"]]
    assert (await merchant.get(f"/v1/payment_intents/{body['id']}")).status_code == 404
    assert (
        await merchant.get(f"/v1/payment_intents/{test_pi['id']}", key=live_sk)
    ).status_code == 404
    live_events = (await merchant.get("/v1/events", key=live_sk)).json()["data"]
    assert {e["data"]["object"]["id"] for e in live_events} == {body["id"]}
    assert all(e["livemode"] for e in live_events)


async def test_live_payer_must_be_mainnet(live_client: tuple[Any, httpx.AsyncClient]) -> None:
    app, client = live_client
    merchant = await sign_up(client)
    async with app.state.gateway.sessions.begin() as session:
        _, issued = await merchants.activate(
            session, merchant.id, MAINNET_ADDRESS, key_secret=app.state.gateway.key_secret
        )
    live_sk = next(k.plaintext for k in issued if k.kind == "secret")
    response = await merchant.post(
        "/v1/payment_intents",
        {"amount": 5000, "currency": "sbtc", "payment_method_data[type]": "sbtc",
         "payment_method_data[sbtc][payer]": merchant.body["stacks_address"]},
        key=live_sk,
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "payment_method_data[sbtc][payer]"


@pytest.mark.parametrize("mode", ["test"])
async def test_unactivated_merchant_has_no_live_keys(client: httpx.AsyncClient, mode: str) -> None:
    merchant = await sign_up(client)
    assert "live" not in merchant.sk
    assert "live" not in merchant.pk


async def test_live_dashboard_sessions(live_client: tuple[Any, httpx.AsyncClient]) -> None:
    """A session is for one mode; developers only read in live mode; token callers are not
    asked for request signatures (live keys are), the route's permission stands in."""
    app, client = live_client
    password = "a long live passphrase"
    merchant = await sign_up(client, password=password)
    email = merchant.body["email"]

    async def login(who: str, livemode: bool) -> httpx.Response:
        data = {"email": who, "password": password, "livemode": str(livemode).lower()}
        return await client.post("/v1/auth/login", data=data)

    early = await login(email, True)
    assert early.status_code == 400
    assert early.json()["error"]["param"] == "livemode"
    async with app.state.gateway.sessions.begin() as session:
        await merchants.activate(
            session, merchant.id, MAINNET_ADDRESS, key_secret=app.state.gateway.key_secret
        )
    test_pi = await merchant.create_intent()
    owner = (await login(email, True)).json()
    assert owner["user"]["livemode"] is True
    live_token = owner["access_token"]
    live_pi = await merchant.post(
        "/v1/payment_intents", {"amount": 5000, "currency": "sbtc"}, key=live_token
    )
    assert live_pi.status_code == 200, live_pi.text
    assert live_pi.json()["livemode"] is True
    assert (
        await merchant.get(f"/v1/payment_intents/{test_pi['id']}", key=live_token)
    ).status_code == 404
    rotated = await merchant.post("/v1/api_keys/rotate", {"expires_in": 0}, key=live_token)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["livemode"] is True

    dev_email = f"dev-{merchant.id.lower()}@example.com"
    added = await merchant.post(
        "/v1/users", {"email": dev_email, "role": "developer", "password": password}
    )
    assert added.status_code == 200, added.text
    dev_live = (await login(dev_email, True)).json()["access_token"]
    assert (await merchant.get("/v1/payment_intents", key=dev_live)).status_code == 200
    refused = await merchant.post(
        "/v1/payment_intents", {"amount": 5000, "currency": "sbtc"}, key=dev_live
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_permissions"
    dev_test = (await login(dev_email, False)).json()["access_token"]
    allowed = await merchant.post(
        "/v1/payment_intents", {"amount": 5000, "currency": "sbtc"}, key=dev_test
    )
    assert allowed.status_code == 200
    assert allowed.json()["livemode"] is False
