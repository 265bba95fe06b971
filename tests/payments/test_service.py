"""PaymentIntent service rules that guard money: no network call while a transaction is open,
and a stale copy of an intent can never overwrite a newer one (the `version` column)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm.exc import StaleDataError

from sbtc_gateway.payments.models import PaymentIntent
from tests.conftest import Merchant

TIP = 1_000


@pytest.fixture
def open_transactions(app: Any) -> dict[str, int]:
    """How many database transactions are open right now (engine begin/commit/rollback)."""
    engine = app.state.gateway.engine.sync_engine
    count = {"open": 0}

    def begun(conn: Any) -> None:
        count["open"] += 1

    def ended(conn: Any) -> None:
        count["open"] -= 1

    event.listen(engine, "begin", begun)
    event.listen(engine, "commit", ended)
    event.listen(engine, "rollback", ended)
    yield count
    event.remove(engine, "begin", begun)
    event.remove(engine, "commit", ended)
    event.remove(engine, "rollback", ended)


@pytest.fixture
def tip_calls(app: Any, open_transactions: dict[str, int], monkeypatch: Any) -> list[int]:
    """Replace the Stacks tip lookup: record how many transactions were open at each call."""
    calls: list[int] = []

    async def height(network: str) -> int:
        calls.append(open_transactions["open"])
        return TIP

    monkeypatch.setattr(app.state.gateway.payments.tips, "height", height)
    return calls


@pytest.mark.parametrize("how", ["confirm", "create with confirm"])
async def test_confirm_asks_the_chain_before_its_transaction_opens(
    merchant: Merchant, tip_calls: list[int], how: str
) -> None:
    """`_confirm` used to ask the Stacks API for the tip while holding the intent's row lock
    (on SQLite: the only connection, so every request waited on the network)."""
    if how == "confirm":
        pi = await merchant.create_intent()
        response = await merchant.post(f"/v1/payment_intents/{pi['id']}/confirm")
    else:
        response = await merchant.post(
            "/v1/payment_intents", {"amount": 25_000, "currency": "sbtc", "confirm": "true"}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "requires_action"
    assert body["next_action"]["sbtc_contract_call"]["expires_at_block"] > TIP
    assert tip_calls == [0]


async def test_a_stale_copy_of_an_intent_cannot_overwrite_a_newer_one(
    app: Any, merchant: Merchant
) -> None:
    """Every UPDATE of an intent carries `WHERE version = :seen` (SQLAlchemy's version
    counter): a writer holding a copy read before another transaction changed the row fails
    instead of silently undoing that change (the row locks make this a second line of defence)."""
    pi = await merchant.create_intent()
    sessions = app.state.gateway.sessions
    async with sessions() as stale:
        copy = await stale.get(PaymentIntent, pi["id"])
        assert copy is not None
        await stale.commit()  # the copy outlives its transaction (expire_on_commit=False)
        async with sessions.begin() as newer:
            row = await newer.get(PaymentIntent, pi["id"])
            assert row is not None
            row.description = "first writer"
        copy.description = "stale writer"
        with pytest.raises(StaleDataError):
            await stale.commit()
    after = (await merchant.get(f"/v1/payment_intents/{pi['id']}")).json()
    assert after["description"] == "first writer"
