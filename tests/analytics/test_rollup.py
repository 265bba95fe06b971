"""The consumer: a replayed event changes nothing, a batch is all or nothing, what it
derives from each event (the checkout's address and browser included)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from sbtc_gateway.analytics import rollup
from sbtc_gateway.analytics.models import DailyMetrics, PaymentEvent
from sbtc_gateway.events.models import Event
from sbtc_gateway.runtime.worker import consume_analytics
from tests.analytics.tables import snapshot


async def test_replaying_every_event_changes_nothing(app: Any, history: Any) -> None:
    gw = app.state.gateway
    _, shops = history
    shop = shops[1]
    before = await snapshot(gw.sessions, shop.id)
    async with gw.sessions.begin() as session:  # the outbox hands everything over again
        await session.execute(
            update(Event).where(Event.merchant_id == shop.id).values(analytics_pending=True)
        )
    assert await consume_analytics(gw) > 100
    assert await snapshot(gw.sessions, shop.id) == before


async def test_a_batch_that_fails_leaves_its_events_pending(app: Any, merchant: Any) -> None:
    gw = app.state.gateway
    await consume_analytics(gw)
    await merchant.create_intent(30_000)
    with pytest.MonkeyPatch.context() as mp:

        async def boom(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("crash in the middle of a batch")

        mp.setattr(rollup, "recompute", boom)
        with pytest.raises(RuntimeError):
            await consume_analytics(gw)
    async with gw.sessions() as session:
        pending = await session.scalar(
            select(Event.analytics_pending).where(Event.merchant_id == merchant.id)
        )
        rows = (
            await session.scalars(
                select(PaymentEvent).where(PaymentEvent.merchant_id == merchant.id)
            )
        ).all()
    assert pending is True
    assert rows == []
    await consume_analytics(gw)
    async with gw.sessions() as session:
        day = (
            await session.scalars(
                select(DailyMetrics).where(DailyMetrics.merchant_id == merchant.id)
            )
        ).one()
    assert day.created_count == 1


async def test_payment_events_keep_the_seed_fields(app: Any, history: Any) -> None:
    gw = app.state.gateway
    _, shops = history
    async with gw.sessions() as session:
        rows = (
            await session.scalars(
                select(PaymentEvent)
                .where(
                    PaymentEvent.merchant_id == shops[0].id,
                    PaymentEvent.event_type == "payment_intent.requires_action",
                )
                .limit(5)
            )
        ).all()
    assert rows
    for row in rows:  # the confirm came from the checkout: its address and browser
        assert row.payment_id.startswith("pi_")
        assert row.amount > 0
        assert row.timestamp > 0
        assert row.ip_address == "203.0.113.7"
        assert row.user_agent == "Mozilla/5.0 (checkout test)"
