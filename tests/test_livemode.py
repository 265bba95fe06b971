"""Test and live mode are two isolated data sets behind one API, as in Stripe."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from sbtc_gateway.api.app import create_app
from sbtc_gateway.config import Settings
from sbtc_gateway.merchants import service as merchants
from tests.conftest import MAINNET_ADDRESS, make_settings, sign_up

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
