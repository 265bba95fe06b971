"""Snapshots of a merchant's analytics rows, to compare before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sbtc_gateway.analytics.models import (
    DailyMetrics,
    IntervalMetrics,
    PaymentEvent,
    PaymentSummary,
)

TABLES = (PaymentEvent, PaymentSummary, IntervalMetrics, DailyMetrics)


async def snapshot(sessions: Any, merchant_id: str) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    async with sessions() as session:
        for table in TABLES:
            columns = [c for c in table.__table__.columns]
            rows = (
                await session.execute(
                    select(*columns)
                    .where(table.merchant_id == merchant_id)
                    .order_by(*table.__table__.primary_key.columns)
                )
            ).all()
            out[table.__tablename__] = [tuple(r) for r in rows]
    return out
