"""Idempotency-Key semantics, as the Stripe SDKs rely on them."""

from __future__ import annotations

import asyncio
from time import time_ns
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, update

from sbtc_gateway.config import Settings
from sbtc_gateway.core.crypto import generate_key_entry
from sbtc_gateway.idempotency import service as idempotency
from sbtc_gateway.idempotency.models import IdempotencyKey
from sbtc_gateway.payments.models import PaymentIntent
from tests.conftest import TEST_ADDRESS as ADDR
from tests.conftest import WEBHOOK_KEYS, Merchant

CREATE = "/v1/payment_intents"


async def _intents(app: Any, merchant_id: str) -> int:
    async with app.state.gateway.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(PaymentIntent)
            .where(PaymentIntent.merchant_id == merchant_id)
        )
    return int(count or 0)


async def test_replay_returns_the_first_response(app: Any, merchant: Merchant) -> None:
    data = {"amount": "5000", "currency": "sbtc"}
    first = await merchant.post(CREATE, data, **{"Idempotency-Key": "replay-1"})
    second = await merchant.post(CREATE, data, **{"Idempotency-Key": "replay-1"})
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await _intents(app, merchant.id) == 1


async def test_same_key_different_parameters(merchant: Merchant) -> None:
    await merchant.post(
        CREATE, {"amount": "5000", "currency": "sbtc"}, **{"Idempotency-Key": "diff"}
    )
    response = await merchant.post(
        CREATE, {"amount": "6000", "currency": "sbtc"}, **{"Idempotency-Key": "diff"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "idempotency_error"


async def test_keys_are_scoped_per_api_key(client: Any, merchant: Merchant) -> None:
    from tests.conftest import sign_up

    other = await sign_up(client)
    data = {"amount": "5000", "currency": "sbtc"}
    a = await merchant.post(CREATE, data, **{"Idempotency-Key": "shared-key"})
    b = await other.post(CREATE, data, **{"Idempotency-Key": "shared-key"})
    assert a.json()["id"] != b.json()["id"]


async def test_validation_failure_is_not_stored(app: Any, merchant: Merchant) -> None:
    bad = await merchant.post(
        CREATE, {"amount": "x", "currency": "sbtc"}, **{"Idempotency-Key": "fix-me"}
    )
    assert bad.status_code == 400
    good = await merchant.post(
        CREATE, {"amount": "5000", "currency": "sbtc"}, **{"Idempotency-Key": "fix-me"}
    )
    assert good.status_code == 200
    assert await _intents(app, merchant.id) == 1


async def test_state_error_is_stored_and_replayed(merchant: Merchant) -> None:
    pi = await merchant.create_intent()
    await merchant.post(f"/v1/payment_intents/{pi['id']}/cancel")
    first = await merchant.post(
        f"/v1/payment_intents/{pi['id']}/cancel", **{"Idempotency-Key": "cancel-twice"}
    )
    second = await merchant.post(
        f"/v1/payment_intents/{pi['id']}/cancel", **{"Idempotency-Key": "cancel-twice"}
    )
    assert first.status_code == second.status_code == 400
    assert second.headers.get("idempotent-replayed") == "true"


async def test_in_flight_request_gets_409(app: Any, merchant: Merchant) -> None:
    gateway = app.state.gateway
    if gateway.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one transaction at a time: a duplicate waits, then replays")
    from sbtc_gateway.merchants.models import ApiKey

    async with gateway.sessions() as session:
        key_id = await session.scalar(
            select(ApiKey.id).where(ApiKey.merchant_id == merchant.id, ApiKey.kind == "secret")
        )
    data = {"amount": "5000", "currency": "sbtc"}
    req = idempotency.Request(
        scope=str(key_id),
        key="in-flight",
        method="POST",
        path=CREATE,
        fingerprint=idempotency.request_hash("POST", CREATE, data),
    )
    before = await _intents(app, merchant.id)
    # A first request that has stored its response and not committed yet (transaction open).
    async with gateway.sessions.begin() as first:
        stored = await idempotency.record(
            first, req, 200, b"{}", keyring=gateway.keyring, retention_seconds=86400
        )
        assert stored is None
        response = await merchant.post(CREATE, data, **{"Idempotency-Key": "in-flight"})
        assert response.status_code == 409
        assert response.headers["stripe-should-retry"] == "true"
        assert await _intents(app, merchant.id) == before  # the duplicate's work rolled back
        await first.rollback()  # the first request failed after all: the key is free again
    retried = await merchant.post(CREATE, data, **{"Idempotency-Key": "in-flight"})
    assert retried.status_code == 200
    assert await _intents(app, merchant.id) == before + 1


async def test_a_retried_confirm_replays_the_first_answer(merchant: Merchant) -> None:
    pi = await merchant.create_intent()
    path = f"/v1/payment_intents/{pi['id']}/confirm"
    first = await merchant.post(path, **{"Idempotency-Key": "confirm-once"})
    assert first.status_code == 200, first.text
    again = await merchant.post(path, **{"Idempotency-Key": "confirm-once"})
    assert again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    cancel = await merchant.post(f"/v1/payment_intents/{pi['id']}/cancel")
    assert cancel.status_code == 200, cancel.text
    # the intent has moved on; the retry still answers what the first request did
    late = await merchant.post(path, **{"Idempotency-Key": "confirm-once"})
    assert late.status_code == 200
    assert late.json() == first.json()
    other = await merchant.post(
        path, {"receipt_email": "buyer@example.com"}, **{"Idempotency-Key": "confirm-once"}
    )
    assert other.status_code == 400, other.text
    assert other.json()["error"]["type"] == "idempotency_error", other.text


async def test_concurrent_requests_with_one_key_create_one_intent(
    app: Any, merchant: Merchant
) -> None:
    data = {"amount": "5000", "currency": "sbtc"}
    responses = await asyncio.gather(
        *(merchant.post(CREATE, data, **{"Idempotency-Key": "race"}) for _ in range(6))
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 409}, statuses
    ok = [r for r in responses if r.status_code == 200]
    assert len({r.json()["id"] for r in ok}) == 1
    assert await _intents(app, merchant.id) == 1


async def test_prune_removes_old_keys(app: Any, merchant: Merchant) -> None:
    await merchant.post(
        CREATE, {"amount": "5000", "currency": "sbtc"}, **{"Idempotency-Key": "old"}
    )
    async with app.state.gateway.sessions.begin() as session:
        from sqlalchemy import update

        await session.execute(
            update(IdempotencyKey).where(IdempotencyKey.key == "old").values(created=0)
        )
    async with app.state.gateway.sessions.begin() as session:
        removed = await idempotency.prune(session, 86400)
    assert removed >= 1
    again = await merchant.post(
        CREATE, {"amount": "5000", "currency": "sbtc"}, **{"Idempotency-Key": "old"}
    )
    assert again.status_code == 200
    assert "idempotent-replayed" not in again.headers


async def _stored(app: Any, key: str) -> IdempotencyKey:
    async with app.state.gateway.sessions() as session:
        row = await session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == key))
    assert row is not None
    assert row.response_body is not None
    return row


async def _set_body(app: Any, row_id: int, body: bytes) -> None:
    async with app.state.gateway.sessions.begin() as session:
        await session.execute(
            update(IdempotencyKey).where(IdempotencyKey.id == row_id).values(response_body=body)
        )


async def test_stored_responses_hold_no_secret_in_plain_text(app: Any, client: Any) -> None:
    """A sign-up and a webhook endpoint sent with an Idempotency-Key (as the SDKs always do):
    the stored answers are sealed, and a replay still answers the keys and the secret."""
    key = f"signup-{id(app)}-{time_ns()}"
    data = {"business_name": "Sealed", "email": f"{key}@example.com", "stacks_address": ADDR}
    first = await client.post("/v1/merchants", data=data, headers={"Idempotency-Key": key})
    assert first.status_code == 200, first.text
    body = first.json()
    row = await _stored(app, key)
    for secret in (body["secret_key"], body["publishable_key"], body["signing_secret"]):
        assert secret.encode() not in row.response_body
    assert row.response_body[:1] == b"\x01"  # sealed (format 1), under the current key id
    assert row.response_body[2 : 2 + len(b"new")] == b"new"
    again = await client.post("/v1/merchants", data=data, headers={"Idempotency-Key": key})
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content

    merchant = Merchant(client, body)
    hook = await merchant.post(
        "/v1/webhook_endpoints",
        {"url": "https://example.com/hook", "enabled_events[]": "*"},
        **{"Idempotency-Key": f"hook-{key}"},
    )
    assert hook.status_code == 200, hook.text
    secret = hook.json()["secret"]
    assert secret.startswith("whsec_")
    assert secret.encode() not in (await _stored(app, f"hook-{key}")).response_body


async def test_a_stored_response_copied_to_another_key_does_not_open(
    app: Any, merchant: Merchant
) -> None:
    data = {"amount": "5000", "currency": "sbtc"}
    a = await merchant.post(CREATE, data, **{"Idempotency-Key": f"copy-a-{merchant.id}"})
    b = await merchant.post(CREATE, data, **{"Idempotency-Key": f"copy-b-{merchant.id}"})
    assert a.status_code == b.status_code == 200
    row_a = await _stored(app, f"copy-a-{merchant.id}")
    row_b = await _stored(app, f"copy-b-{merchant.id}")
    await _set_body(app, row_b.id, row_a.response_body)  # a's answer pasted onto b's key
    replay = await merchant.post(CREATE, data, **{"Idempotency-Key": f"copy-b-{merchant.id}"})
    assert replay.status_code == 400, replay.text
    error = replay.json()["error"]
    assert error["type"] == "idempotency_error"
    assert error["code"] == "idempotency_response_unreadable"
    assert a.json()["id"] not in replay.text
    assert await _intents(app, merchant.id) == 2  # and the request was not run again


async def test_replay_opens_responses_sealed_under_an_older_key(
    app: Any, settings: Settings, make_instance: Any, merchant: Merchant
) -> None:
    """SBTC_ENCRYPTION_KEYS rotated: a new key first, the old one after it. Answers stored under
    the old key id still replay; new ones are sealed under the new key id."""
    data = {"amount": "5000", "currency": "sbtc"}
    first = await merchant.post(CREATE, data, **{"Idempotency-Key": f"rotate-{merchant.id}"})
    assert first.status_code == 200
    rotated = settings.model_copy(
        update={"encryption_keys": SecretStr(generate_key_entry("k3") + "," + WEBHOOK_KEYS)}
    )
    other = await make_instance(rotated)
    m = Merchant(other.client, merchant.body)
    again = await m.post(CREATE, data, **{"Idempotency-Key": f"rotate-{merchant.id}"})
    assert again.headers.get("idempotent-replayed") == "true", again.text
    assert again.content == first.content
    fresh = await m.post(CREATE, data, **{"Idempotency-Key": f"rotate-new-{merchant.id}"})
    assert fresh.status_code == 200
    assert (await _stored(app, f"rotate-new-{merchant.id}")).response_body[1:4] == b"\x02k3"
    # the old key removed too early: that answer cannot be read back, nor run again
    dropped = settings.model_copy(update={"encryption_keys": SecretStr(generate_key_entry("k4"))})
    lost = await Merchant((await make_instance(dropped)).client, merchant.body).post(
        CREATE, data, **{"Idempotency-Key": f"rotate-{merchant.id}"}
    )
    assert lost.status_code == 400
    assert lost.json()["error"]["code"] == "idempotency_response_unreadable"
    assert await _intents(app, merchant.id) == 2


async def test_answers_stored_in_plain_text_before_sealing_still_replay(
    app: Any, merchant: Merchant
) -> None:
    data = {"amount": "5000", "currency": "sbtc"}
    first = await merchant.post(CREATE, data, **{"Idempotency-Key": f"plain-{merchant.id}"})
    row = await _stored(app, f"plain-{merchant.id}")
    await _set_body(app, row.id, first.content)  # as an older gateway stored it
    again = await merchant.post(CREATE, data, **{"Idempotency-Key": f"plain-{merchant.id}"})
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.content == first.content


async def test_stored_failures_are_sealed_too(app: Any, merchant: Merchant) -> None:
    pi = await merchant.create_intent()
    await merchant.post(f"/v1/payment_intents/{pi['id']}/cancel")
    key = f"cancel-sealed-{merchant.id}"
    first = await merchant.post(
        f"/v1/payment_intents/{pi['id']}/cancel", **{"Idempotency-Key": key}
    )
    assert first.status_code == 400
    row = await _stored(app, key)
    assert row.response_body[:1] == b"\x01"
    assert b"payment_intent_unexpected_state" not in row.response_body
    again = await merchant.post(
        f"/v1/payment_intents/{pi['id']}/cancel", **{"Idempotency-Key": key}
    )
    assert again.content == first.content
