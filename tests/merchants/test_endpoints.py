"""Merchant sign-up, the account, API key authentication and rotation."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from sbtc_gateway.merchants.models import ApiKey
from sbtc_gateway.merchants.models import Merchant as MerchantRow
from tests.conftest import MAINNET_ADDRESS, OTHER_ADDRESS, TEST_ADDRESS, Merchant, sign_up


async def _count(app: object, model: type) -> int:
    async with app.state.gateway.sessions() as session:  # type: ignore[attr-defined]
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_sign_up_returns_keys_once(client: httpx.AsyncClient) -> None:
    m = await sign_up(client, business_name="Coffee Co", tier="growth")
    assert m.body["object"] == "account"
    assert m.id.startswith("acct_")
    assert len(m.id) <= 36
    assert m.sk.startswith("sk_test_")
    assert m.pk.startswith("pk_test_")
    assert m.body["fee_basis_points"] == 75
    account = (await m.get("/v1/account")).json()
    assert account["id"] == m.id
    assert "secret_key" not in account
    assert "publishable_key" not in account


async def test_keys_are_stored_as_hashes(app: object, merchant: Merchant) -> None:
    async with app.state.gateway.sessions() as session:  # type: ignore[attr-defined]
        rows = (
            await session.scalars(select(ApiKey).where(ApiKey.merchant_id == merchant.id))
        ).all()
    assert len(rows) == 2
    for row in rows:
        assert merchant.sk not in (row.digest, row.lookup)
        assert merchant.pk not in (
            row.digest,
            row.lookup,
        )
        assert len(row.digest) == 64


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("stacks_address", "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AH", "invalid_stacks_address"),
        ("stacks_address", MAINNET_ADDRESS, "invalid_stacks_address"),
        ("stacks_address", TEST_ADDRESS.lower(), "invalid_stacks_address"),
        ("stacks_address", TEST_ADDRESS + ".contract", "invalid_stacks_address"),
        ("email", "not-an-email", "email_invalid"),
        ("tier", "platinum", "parameter_invalid"),
        ("business_name", "", "parameter_missing"),
        ("surprise", "1", "parameter_unknown"),
    ],
)
async def test_sign_up_bad_input_changes_nothing(
    app: object, client: httpx.AsyncClient, field: str, value: str, code: str
) -> None:
    before = await _count(app, MerchantRow)
    data = {
        "business_name": "Shop",
        "email": "bad-input@example.com",
        "stacks_address": TEST_ADDRESS,
    }
    data[field] = value
    response = await client.post("/v1/merchants", data=data)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    assert error["param"] == field
    assert await _count(app, MerchantRow) == before


async def test_duplicate_email(client: httpx.AsyncClient, merchant: Merchant) -> None:
    response = await client.post(
        "/v1/merchants",
        data={
            "business_name": "Again",
            "email": merchant.body["email"].upper(),
            "stacks_address": TEST_ADDRESS,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "email"


async def test_missing_and_invalid_keys(client: httpx.AsyncClient, merchant: Merchant) -> None:
    missing = await client.get("/v1/account")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "api_key_missing"
    wrong = await client.get("/v1/account", headers={"Authorization": "Bearer sk_test_" + "A" * 33})
    assert wrong.status_code == 401
    assert "AAAA" in wrong.json()["error"]["message"]
    assert "A" * 20 not in wrong.json()["error"]["message"]
    tampered = merchant.sk[:-1] + ("a" if merchant.sk[-1] != "a" else "b")
    assert (
        await client.get("/v1/account", headers={"Authorization": f"Bearer {tampered}"})
    ).status_code == 401
    live = await client.get("/v1/account", headers={"Authorization": "Bearer sk_live_" + "A" * 33})
    assert live.status_code == 401


async def test_basic_auth_like_curl(client: httpx.AsyncClient, merchant: Merchant) -> None:
    response = await client.get("/v1/account", auth=(merchant.sk, ""))
    assert response.status_code == 200


async def test_publishable_key_cannot_use_secret_endpoints(merchant: Merchant) -> None:
    for call in (
        merchant.get("/v1/account", key=merchant.pk),
        merchant.get("/v1/payment_intents", key=merchant.pk),
        merchant.post("/v1/payment_intents", {"amount": 5000, "currency": "sbtc"}, key=merchant.pk),
    ):
        response = await call
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "secret_key_required"


async def test_rotation_keeps_old_key_for_grace_period(merchant: Merchant) -> None:
    response = await merchant.post("/v1/api_keys/rotate", {"expires_in": 3600})
    assert response.status_code == 200, response.text
    new_key = response.json()["secret"]
    assert new_key.startswith("sk_test_")
    assert new_key != merchant.sk
    assert (await merchant.get("/v1/account")).status_code == 200
    assert (await merchant.get("/v1/account", key=new_key)).status_code == 200


async def test_rotation_with_zero_grace_revokes_now(merchant: Merchant) -> None:
    response = await merchant.post("/v1/api_keys/rotate", {"expires_in": 0})
    new_key = response.json()["secret"]
    assert (await merchant.get("/v1/account")).status_code == 401
    assert (await merchant.get("/v1/account", key=new_key)).status_code == 200


@pytest.mark.parametrize("expires_in", ["-1", str(8 * 24 * 3600), "soon"])
async def test_rotation_bad_grace(merchant: Merchant, expires_in: str) -> None:
    response = await merchant.post("/v1/api_keys/rotate", {"expires_in": expires_in})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "expires_in"
    assert (await merchant.get("/v1/account")).status_code == 200


async def test_account_update(merchant: Merchant) -> None:
    response = await merchant.post(
        "/v1/account", {"payment_expiry_seconds": "600", "business_name": "Renamed"}
    )
    assert response.status_code == 200
    assert response.json()["payment_expiry_seconds"] == 600
    intent = await merchant.create_intent()
    assert intent["expires_at"] - intent["created"] == 600
    bad = await merchant.post("/v1/account", {"payment_expiry_seconds": "5"})
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "payment_expiry_seconds"


async def test_payout_address_change_is_recorded_and_validated(merchant: Merchant) -> None:
    new_address = OTHER_ADDRESS
    for params, param in [
        ({"stacks_address": MAINNET_ADDRESS}, "stacks_address"),  # a mainnet address in test
        ({"stacks_address": f"{TEST_ADDRESS}.contract"}, "stacks_address"),
        ({"stacks_address": ""}, "stacks_address"),
        ({"live_stacks_address": MAINNET_ADDRESS}, "live_stacks_address"),  # not activated
    ]:
        bad = await merchant.post("/v1/account", params)
        assert bad.status_code == 400, bad.text
        assert bad.json()["error"]["param"] == param
    assert (await merchant.get("/v1/account")).json()["stacks_address"] == TEST_ADDRESS
    assert (await merchant.get("/v1/events", {"type": "account.updated"})).json()["data"] == []

    changed = await merchant.post("/v1/account", {"stacks_address": new_address}, signed=True)
    assert changed.status_code == 200, changed.text
    assert changed.json()["stacks_address"] == new_address
    (event,) = (await merchant.get("/v1/events", {"type": "account.updated"})).json()["data"]
    assert event["data"]["previous_attributes"] == {"stacks_address": TEST_ADDRESS}
    assert event["data"]["object"]["stacks_address"] == new_address
    # intents confirmed from now on pay the new address
    intent = await merchant.create_intent()
    confirmed = await merchant.post(f"/v1/payment_intents/{intent['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    call = confirmed.json()["next_action"]["sbtc_contract_call"]
    assert call["function_args_repr"][2] == f"merchant: '{new_address}"
    # the same address again changes nothing and records nothing
    assert (await merchant.post("/v1/account", {"stacks_address": new_address})).is_success
    assert len((await merchant.get("/v1/events", {"type": "account.updated"})).json()["data"]) == 1
