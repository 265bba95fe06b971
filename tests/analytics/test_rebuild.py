"""`analytics rebuild` writes the rows the consumer wrote, from scratch or from a date."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from sbtc_gateway.analytics.models import DailyMetrics, IntervalMetrics, PaymentSummary
from sbtc_gateway.analytics.rebuild import rebuild
from tests.analytics.history import DAY
from tests.analytics.tables import snapshot


async def test_a_rebuild_from_scratch_gives_the_same_rows(app: Any, history: Any) -> None:
    gw = app.state.gateway
    _, shops = history
    shop = shops[2]
    before = await snapshot(gw.sessions, shop.id)
    async with gw.sessions.begin() as session:  # lose every derived row
        for table in (PaymentSummary, IntervalMetrics, DailyMetrics):
            await session.execute(delete(table).where(table.merchant_id == shop.id))
    [report] = await rebuild(gw.sessions, merchant_id=shop.id)
    assert report.events > 100
    assert await snapshot(gw.sessions, shop.id) == before


async def test_a_rebuild_since_a_date_gives_the_same_rows(app: Any, history: Any) -> None:
    gw = app.state.gateway
    made, shops = history
    shop = shops[0]
    before = await snapshot(gw.sessions, shop.id)
    await rebuild(gw.sessions, merchant_id=shop.id, since=made.end - 20 * DAY + 4321)
    assert await snapshot(gw.sessions, shop.id) == before
