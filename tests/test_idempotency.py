"""Idempotency-Key semantics, as the Stripe SDKs rely on them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from sbtc_gateway.idempotency import service as idempotency
from sbtc_gateway.idempotency.models import IdempotencyKey
from sbtc_gateway.payments.models import PaymentIntent
from tests.conftest import Merchant

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
        stored = await idempotency.record(first, req, 200, b"{}", retention_seconds=86400)
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
