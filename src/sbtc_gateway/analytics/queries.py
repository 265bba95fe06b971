"""The read side's SQL (the endpoints' repository), run on the analytics read sessions.

Scoped by merchant and mode, except where a function says it is the platform's view (every
merchant of one mode) or the benchmark's (every merchant of one tier and mode, aggregated
before anything leaves the database layer).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.analytics.models import (
    DailyMetrics,
    IntervalMetrics,
    PaymentEvent,
    PaymentSummary,
)
from sbtc_gateway.merchants.models import Merchant

IM = IntervalMetrics
DM = DailyMetrics
PE = PaymentEvent
PS = PaymentSummary
FIGURES = (
    "gross", "fees", "refunds", "reversals", "net", "charge_count", "refund_count",
    "reversal_count", "created_count", "converted_count", "succeeded_count", "failed_count",
    "canceled_count", "expired_count",
)  # fmt: skip


async def intervals(
    session: AsyncSession, merchant_id: str, livemode: bool, start: int, end: int
) -> list[tuple[int, dict[str, int]]]:
    """The quarter hours in [start, end) that had activity, oldest first."""
    columns = [getattr(IM, name) for name in FIGURES]
    rows = await session.execute(
        select(IM.bucket_start, *columns)
        .where(
            IM.merchant_id == merchant_id,
            IM.livemode == livemode,
            IM.bucket_start >= start,
            IM.bucket_start < end,
        )
        .order_by(IM.bucket_start)
    )
    return [(int(r[0]), dict(zip(FIGURES, map(int, r[1:]), strict=True))) for r in rows.all()]


async def first_activity(session: AsyncSession, merchant_id: str, livemode: bool) -> int | None:
    first = await session.scalar(
        select(func.min(IM.bucket_start)).where(
            IM.merchant_id == merchant_id, IM.livemode == livemode, IM.gross != 0
        )
    )
    return int(first) if first is not None else None


def _created_in(merchant_id: str, livemode: bool, start: int, end: int) -> Any:
    return and_(
        PS.merchant_id == merchant_id,
        PS.livemode == livemode,
        PS.created >= start,
        PS.created < end,
    )


async def funnel_counts(
    session: AsyncSession, merchant_id: str, livemode: bool, start: int, end: int
) -> dict[str, int]:
    confirmed = case(
        (
            (PS.confirmed_at.is_not(None))
            | (PS.processing_at.is_not(None))
            | (PS.succeeded_at.is_not(None)),
            1,
        ),
        else_=0,
    )
    processing = case(
        ((PS.processing_at.is_not(None)) | (PS.succeeded_at.is_not(None)), 1), else_=0
    )
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(confirmed), 0),
                func.coalesce(func.sum(processing), 0),
                func.count(PS.succeeded_at),
            ).where(_created_in(merchant_id, livemode, start, end))
        )
    ).one()
    return dict(
        zip(("created", "confirmed", "processing", "succeeded"), map(int, row), strict=True)
    )


async def abandoned(
    session: AsyncSession, merchant_id: str, livemode: bool, start: int, end: int
) -> list[tuple[str | None, str | None, int, int, int]]:
    """Payments created in the range that did not succeed: (cancellation reason, failure
    code, reached processing?, reversed?, count), grouped."""
    reached = case((PS.processing_at.is_not(None), 1), else_=0)
    was_reversed = case((PS.reversals > 0, 1), else_=0)
    rows = await session.execute(
        select(PS.cancellation_reason, PS.failure_code, reached, was_reversed, func.count())
        .where(_created_in(merchant_id, livemode, start, end), PS.succeeded_at.is_(None))
        .where(PS.canceled_at.is_not(None) | PS.failure_code.is_not(None) | (PS.reversals > 0))
        .group_by(PS.cancellation_reason, PS.failure_code, reached, was_reversed)
    )
    return [(c, f, int(r), int(v), int(n)) for c, f, r, v, n in rows.all()]


async def open_count(
    session: AsyncSession, merchant_id: str, livemode: bool, start: int, end: int
) -> int:
    n = await session.scalar(
        select(func.count()).where(
            _created_in(merchant_id, livemode, start, end),
            PS.succeeded_at.is_(None),
            PS.canceled_at.is_(None),
            PS.failure_code.is_(None),
            PS.reversals == 0,
        )
    )
    return int(n or 0)


async def times_to_pay(
    session: AsyncSession, merchant_id: str, livemode: bool, start: int, end: int
) -> list[int]:
    rows = await session.scalars(
        select(PS.succeeded_at - PS.created).where(
            _created_in(merchant_id, livemode, start, end), PS.succeeded_at.is_not(None)
        )
    )
    return [int(v or 0) for v in rows.all()]


# --- realtime -------------------------------------------------------------------------------


async def recent(
    session: AsyncSession, merchant_id: str | None, livemode: bool, since: int, until: int
) -> list[tuple[str, int, int, str | None, str]]:
    """(type, timestamp, amount, charge, merchant) of the payment outcomes since `since`;
    `merchant_id=None` is the platform's view (every merchant of the mode)."""
    query = select(PE.event_type, PE.timestamp, PE.amount, PE.charge_id, PE.merchant_id).where(
        PE.livemode == livemode,
        PE.timestamp >= since,
        PE.timestamp < until,
        PE.event_type.in_(("payment_intent.succeeded", "charge.succeeded", "charge.failed")),
    )
    if merchant_id is not None:
        query = query.where(PE.merchant_id == merchant_id)
    rows = await session.execute(query)
    return [(str(t), int(ts), int(a), c, str(m)) for t, ts, a, c, m in rows.all()]


async def pending_seen(session: AsyncSession, charge_ids: Sequence[str]) -> dict[str, int]:
    """When each charge was first seen (its `charge.pending` event)."""
    if not charge_ids:
        return {}
    rows = await session.execute(
        select(PE.charge_id, func.min(PE.timestamp))
        .where(PE.charge_id.in_(list(charge_ids)), PE.event_type == "charge.pending")
        .group_by(PE.charge_id)
    )
    return {str(c): int(ts) for c, ts in rows.all()}


# --- customers ------------------------------------------------------------------------------


def _paid(merchant_id: str, livemode: bool, end: int) -> Any:
    return and_(
        PS.merchant_id == merchant_id,
        PS.livemode == livemode,
        PS.succeeded_at.is_not(None),
        PS.succeeded_at < end,
        PS.payer.is_not(None),
    )


async def payers_lifetime(
    session: AsyncSession, merchant_id: str, livemode: bool, end: int
) -> list[tuple[str, int, int, int]]:
    """(payer, payments, volume, first payment) of every payer before `end`."""
    rows = await session.execute(
        select(PS.payer, func.count(), func.sum(PS.amount_received), func.min(PS.succeeded_at))
        .where(_paid(merchant_id, livemode, end))
        .group_by(PS.payer)
    )
    return [(str(p), int(n), int(v or 0), int(f or 0)) for p, n, v, f in rows.all()]


async def payers_between(
    session: AsyncSession, merchant_id: str, livemode: bool, start: int, end: int
) -> list[tuple[str, int, int]]:
    rows = await session.execute(
        select(PS.payer, func.count(), func.sum(PS.amount_received))
        .where(_paid(merchant_id, livemode, end), PS.succeeded_at >= start)
        .group_by(PS.payer)
    )
    return [(str(p), int(n), int(v)) for p, n, v in rows.all()]


async def payer_months(
    session: AsyncSession, merchant_id: str, livemode: bool, edges: Sequence[int]
) -> list[tuple[str, int]]:
    """(payer, month index) pairs: who paid in which of the months between `edges` (local
    month starts, computed by the caller in its time zone)."""
    index = case(
        *((PS.succeeded_at < edge, i) for i, edge in enumerate(edges[1:])), else_=len(edges) - 1
    )
    rows = await session.execute(
        select(PS.payer, index)
        .where(_paid(merchant_id, livemode, edges[-1]), PS.succeeded_at >= edges[0])
        .group_by(PS.payer, index)
    )
    return [(str(p), int(i)) for p, i in rows.all()]


# --- benchmarks -----------------------------------------------------------------------------


async def tier_figures(
    session: AsyncSession, tier: str, livemode: bool, start: int, middle: int, end: int
) -> dict[str, dict[str, int]]:
    """Per merchant of the tier: the sums of its daily metrics in the previous period
    [start, middle) and the current one [middle, end) (benchmarks only)."""
    current = DM.day_start >= middle

    def both(column: Any, name: str) -> list[Any]:
        return [
            func.sum(case((current, column), else_=0)).label(name),
            func.sum(case((current, 0), else_=column)).label(f"previous_{name}"),
        ]

    query = (
        select(
            DM.merchant_id,
            *both(DM.gross, "gross"),
            *both(DM.charge_count, "charges"),
            *both(DM.created_count, "created"),
            *both(DM.converted_count, "converted"),
            *both(DM.refunds, "refunds"),
        )
        .join(Merchant, Merchant.id == DM.merchant_id)
        .where(
            Merchant.tier == tier,
            DM.livemode == livemode,
            DM.day_start >= start,
            DM.day_start < end,
        )
        .group_by(DM.merchant_id)
    )
    out: dict[str, dict[str, int]] = {}
    for row in (await session.execute(query)).all():
        values = row._mapping
        out[str(values["merchant_id"])] = {
            k: int(v or 0) for k, v in values.items() if k != "merchant_id"
        }
    return out


async def merchant_tier(session: AsyncSession, merchant_id: str) -> str | None:
    tier = await session.scalar(select(Merchant.tier).where(Merchant.id == merchant_id))
    return str(tier) if tier is not None else None
