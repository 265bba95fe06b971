"""Simultaneous transitions of one PaymentIntent leave exactly one transition and one event."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from sbtc_gateway.events.models import Event
from tests.conftest import Merchant


async def _event_types(app: Any, intent_id: str) -> list[str]:
    async with app.state.gateway.sessions() as session:
        rows = await session.scalars(select(Event.type).where(Event.object_id == intent_id))
        return sorted(rows.all())


async def test_two_cancels(app: Any, merchant: Merchant) -> None:
    pi = await merchant.create_intent()
    results = await asyncio.gather(
        merchant.post(f"/v1/payment_intents/{pi['id']}/cancel"),
        merchant.post(f"/v1/payment_intents/{pi['id']}/cancel"),
    )
    assert sorted(r.status_code for r in results) == [200, 400]
    assert await _event_types(app, pi["id"]) == [
        "payment_intent.canceled",
        "payment_intent.created",
    ]


async def test_confirm_races_cancel(app: Any, merchant: Merchant) -> None:
    for _ in range(3):
        pi = await merchant.create_intent()
        confirm, cancel = await asyncio.gather(
            merchant.post(f"/v1/payment_intents/{pi['id']}/confirm"),
            merchant.post(f"/v1/payment_intents/{pi['id']}/cancel"),
        )
        final = (await merchant.get(f"/v1/payment_intents/{pi['id']}")).json()
        types = await _event_types(app, pi["id"])
        assert cancel.status_code == 200
        assert final["status"] == "canceled"
        if confirm.status_code == 200:  # confirm won, then cancel moved it on
            assert types == [
                "payment_intent.canceled",
                "payment_intent.created",
                "payment_intent.requires_action",
            ]
        else:  # cancel won; the confirm saw a canceled intent
            assert confirm.json()["error"]["code"] == "payment_intent_unexpected_state"
            assert types == ["payment_intent.canceled", "payment_intent.created"]


async def test_two_confirms(app: Any, merchant: Merchant) -> None:
    pi = await merchant.create_intent()
    results = await asyncio.gather(
        merchant.post(f"/v1/payment_intents/{pi['id']}/confirm"),
        merchant.post(f"/v1/payment_intents/{pi['id']}/confirm"),
    )
    # The second confirm finds the intent already in requires_action with the same terms and
    # changes nothing: one transition, one event, and both callers see the same next_action.
    assert [r.status_code for r in results] == [200, 200]
    assert results[0].json()["next_action"] == results[1].json()["next_action"]
    types = await _event_types(app, pi["id"])
    assert types == ["payment_intent.created", "payment_intent.requires_action"]


async def test_reconfirm_with_new_payer_refreshes_terms(app: Any, merchant: Merchant) -> None:
    from tests.conftest import OTHER_ADDRESS, TEST_ADDRESS

    pi = await merchant.create_intent(confirm="true")
    for payer in (OTHER_ADDRESS, TEST_ADDRESS):
        response = await merchant.post(
            f"/v1/payment_intents/{pi['id']}/confirm",
            {"payment_method_data[type]": "sbtc", "payment_method_data[sbtc][payer]": payer},
        )
        assert response.json()["next_action"]["sbtc_contract_call"]["payer"] == payer
    types = await _event_types(app, pi["id"])
    assert types.count("payment_intent.requires_action") == 3


async def test_a_row_held_too_long_answers_409(app: Any, merchant: Merchant) -> None:
    """PostgreSQL: a transition that waits past the lock timeout gets 409 and changes nothing."""
    import pytest
    from sqlalchemy import text

    gateway = app.state.gateway
    if gateway.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one transaction at a time: the cancel waits its turn")
    pi = await merchant.create_intent()
    async with gateway.sessions.begin() as holder:
        await holder.execute(
            text("SELECT id FROM payment_intents WHERE id = :id FOR UPDATE"), {"id": pi["id"]}
        )
        blocked = await merchant.post(f"/v1/payment_intents/{pi['id']}/cancel")
        assert blocked.status_code == 409
        assert blocked.json()["error"]["code"] == "lock_timeout"
        assert blocked.headers["stripe-should-retry"] == "true"
    retried = await merchant.post(f"/v1/payment_intents/{pi['id']}/cancel")
    assert retried.status_code == 200
    assert await _event_types(app, pi["id"]) == [
        "payment_intent.canceled",
        "payment_intent.created",
    ]
