"""The browser's endpoints on both databases: the checkout view, the receipt, the payer's
balance check and confirm, each with a publishable key and the client secret, or with the
client secret alone (ADR 0017); and the merchant's branding on `POST /v1/account`."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_ADDRESS, Merchant, sign_up

NEEDS_DEVNET = pytest.mark.skipif(not os.environ.get("STACKS_DEVNET_URL"), reason="no devnet")


async def post(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return await client.post(path, json=body, headers=headers)


async def test_the_checkout_view_with_the_client_secret_alone(
    client: httpx.AsyncClient, merchant: Merchant
) -> None:
    await merchant.post(
        "/v1/account", {"logo_url": "https://shop.example/logo.png", "accent_color": "#F7931A"}
    )
    pi = await merchant.create_intent(30_000, description="Two mugs")
    response = await post(
        client, f"/v1/payment_intents/{pi['id']}/checkout", {"client_secret": pi["client_secret"]}
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    view = response.json()
    assert view["object"] == "checkout"
    assert view["merchant"] == {
        "business_name": "Test Shop",
        "logo_url": "https://shop.example/logo.png",
        "accent_color": "#f7931a",
    }
    shown = view["payment_intent"]
    assert shown["id"] == pi["id"]
    assert shown["amount"] == 30_000
    assert shown["amount_sbtc"] == "0.00030000"
    assert shown["description"] == "Two mugs"
    assert shown["metadata"] is None  # what a publishable key sees: no merchant-only fields
    assert view["time_left"]["seconds"] > 1700
    assert view["time_left"]["expires_at_block"] is None
    assert view["network"]["name"] == "devnet"
    assert view["network"]["explorer_url"] is None
    assert view["receipt"] is None


async def test_a_wrong_secret_or_another_merchants_key_finds_nothing(
    client: httpx.AsyncClient, merchant: Merchant
) -> None:
    pi = await merchant.create_intent()
    path = f"/v1/payment_intents/{pi['id']}/checkout"
    wrong = await post(client, path, {"client_secret": pi["client_secret"][:-2] + "xx"})
    assert wrong.status_code == 404
    assert wrong.json()["error"]["code"] == "resource_missing"
    other = await sign_up(client)
    theirs = await post(client, path, {"client_secret": pi["client_secret"]}, key=other.pk)
    assert theirs.status_code == 404
    # the merchant's own publishable key with the secret works; without it, it does not
    mine = await post(client, path, {"client_secret": pi["client_secret"]}, key=merchant.pk)
    assert mine.status_code == 200
    without = await post(client, path, {}, key=merchant.pk)
    assert without.status_code == 400
    assert without.json()["error"]["param"] == "client_secret"
    nothing = await post(client, path, {})
    assert nothing.status_code == 401


@NEEDS_DEVNET
async def test_confirm_with_the_client_secret_alone_sets_the_payer(
    client: httpx.AsyncClient, merchant: Merchant
) -> None:
    pi = await merchant.create_intent()
    body = {
        "client_secret": pi["client_secret"],
        "payment_method_data": {"type": "sbtc", "sbtc": {"payer": TEST_ADDRESS}},
    }
    response = await post(client, f"/v1/payment_intents/{pi['id']}/confirm", body)
    assert response.status_code == 200, response.text
    confirmed = response.json()
    assert confirmed["status"] == "requires_action"
    call = confirmed["next_action"]["sbtc_contract_call"]
    assert call["payer"] == TEST_ADDRESS
    assert call["function_name"] == "pay-signed-intent"
    # the hosted checkout link carries the client secret in its fragment
    url = confirmed["next_action"]["redirect_to_url"]["url"]
    assert url.endswith(f"/checkout/{pi['id']}#{pi['client_secret']}")
    view = (
        await post(
            client,
            f"/v1/payment_intents/{pi['id']}/checkout",
            {"client_secret": pi["client_secret"]},
        )
    ).json()
    assert view["payment_intent"]["next_action"]["sbtc_contract_call"] == call
    assert view["time_left"]["expires_at_block"] == call["expires_at_block"]
    assert view["time_left"]["blocks"] is not None
    # stored events carry neither the secret nor the signed call
    events = (await merchant.get("/v1/events", {"type": "payment_intent.requires_action"})).json()
    stored = next(e for e in events["data"] if e["data"]["object"]["id"] == pi["id"])
    assert "#" not in stored["data"]["object"]["next_action"]["redirect_to_url"]["url"]


async def test_a_receipt_only_once_paid(client: httpx.AsyncClient, merchant: Merchant) -> None:
    pi = await merchant.create_intent()
    response = await post(
        client, f"/v1/payment_intents/{pi['id']}/receipt", {"client_secret": pi["client_secret"]}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "payment_intent_unexpected_state"


@NEEDS_DEVNET
async def test_the_payer_balance_check(client: httpx.AsyncClient, merchant: Merchant) -> None:
    pi = await merchant.create_intent(25_000)
    path = f"/v1/payment_intents/{pi['id']}/payer_balance"
    missing = await post(client, path, {"client_secret": pi["client_secret"]})
    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "payer"
    bad = await post(client, path, {"client_secret": pi["client_secret"], "payer": "nope"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "payer"
    # an address that never held anything
    empty = "ST000000000000000000002AMW42H"
    response = await post(client, path, {"client_secret": pi["client_secret"], "payer": empty})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "payer_balance"
    assert body["sufficient"] is False
    assert body["sbtc"] == {"balance": 0, "required": 25_000, "sufficient": False}
    assert body["stx"]["sufficient"] is False


async def test_branding_is_validated_and_can_be_removed(merchant: Merchant) -> None:
    bad = await merchant.post("/v1/account", {"accent_color": "orange"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "accent_color"
    bad = await merchant.post("/v1/account", {"logo_url": "javascript:alert(1)"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "logo_url"
    ok = await merchant.post(
        "/v1/account", {"logo_url": "https://shop.example/l.png", "accent_color": "#00aa88"}
    )
    assert ok.json()["logo_url"] == "https://shop.example/l.png"
    assert ok.json()["accent_color"] == "#00aa88"
    cleared = await merchant.post("/v1/account", {"logo_url": "", "accent_color": ""})
    assert cleared.json()["logo_url"] is None
    assert cleared.json()["accent_color"] is None


def test_explorer_links_only_on_public_networks() -> None:
    from sbtc_gateway.checkout.service import explorer_url

    assert explorer_url("devnet", "ab" * 32) is None
    assert explorer_url("testnet", None) is None
    assert explorer_url("testnet", "ab" * 32) == (
        f"https://explorer.hiro.so/txid/0x{'ab' * 32}?chain=testnet"
    )
    assert explorer_url("mainnet", "0x" + "cd" * 32) == (
        f"https://explorer.hiro.so/txid/0x{'cd' * 32}?chain=mainnet"
    )
