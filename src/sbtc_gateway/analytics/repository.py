"""The rollup's SQL: claims from the events outbox, the scope locks, and the window sums read
from the ledger, `payment_events` and `analytics_payments`. Every read is scoped by merchant
and mode, except the claim, which is the outbox's (all merchants, like the webhook fan-out)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.analytics.models import (
    AnalyticsScope,
    DailyMetrics,
    IntervalMetrics,
    PaymentEvent,
    PaymentSummary,
)
from sbtc_gateway.events.models import Event
from sbtc_gateway.ledger.models import BalanceTransaction

BT = BalanceTransaction
PE = PaymentEvent
PS = PaymentSummary
Scope = tuple[str, bool]
# payment_events types that count in the rollups
COUNTED_TYPES = (
    "payment_intent.created",
    "payment_intent.succeeded",
    "payment_intent.canceled",
    "charge.failed",
)


def bucket_of(column: Any, width: int) -> ColumnElement[int]:
    bucket: ColumnElement[int] = (column - column % width).label("bucket")
    return bucket


# --- the outbox -----------------------------------------------------------------------------


async def claim_events(session: AsyncSession, limit: int) -> list[dict[str, Any]]:
    """The oldest events not yet folded in, locked (`SKIP LOCKED`: several workers on
    PostgreSQL take disjoint batches; SQLite has one writer)."""
    query = (
        select(
            Event.id,
            Event.merchant_id,
            Event.livemode,
            Event.type,
            Event.data,
            Event.request_ip,
            Event.request_user_agent,
            Event.created,
        )
        .where(Event.analytics_pending.is_(True))
        .order_by(Event.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [dict(row._mapping) for row in (await session.execute(query)).all()]


async def mark_consumed(session: AsyncSession, event_ids: Sequence[str]) -> None:
    await session.execute(
        update(Event)
        .where(Event.id.in_(list(event_ids)))
        .values(analytics_pending=False)
        .execution_options(synchronize_session=False)
    )


async def pending_backlog(session: AsyncSession) -> tuple[int, int | None]:
    """Events not yet folded in, and the creation time of the oldest (platform health)."""
    row = (
        await session.execute(
            select(func.count(), func.min(Event.created)).where(Event.analytics_pending.is_(True))
        )
    ).one()
    return int(row[0] or 0), (int(row[1]) if row[1] is not None else None)


async def events_of(
    session: AsyncSession, merchant_id: str, since: int | None, after_id: str | None, limit: int
) -> list[dict[str, Any]]:
    """A merchant's events (both modes) in id order, for a rebuild."""
    query = select(
        Event.id,
        Event.merchant_id,
        Event.livemode,
        Event.type,
        Event.data,
        Event.request_ip,
        Event.request_user_agent,
        Event.created,
    ).where(Event.merchant_id == merchant_id)
    if since is not None:
        query = query.where(Event.created >= since)
    if after_id is not None:
        query = query.where(Event.id > after_id)
    query = query.order_by(Event.id).limit(limit)
    return [dict(row._mapping) for row in (await session.execute(query)).all()]


async def merchants_with_events(session: AsyncSession) -> list[str]:
    return [str(m) for m in (await session.scalars(select(Event.merchant_id).distinct())).all()]


# --- scopes ---------------------------------------------------------------------------------


def _insert_ignore(session: AsyncSession, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


async def lock_scopes(session: AsyncSession, scopes: Iterable[Scope]) -> None:
    """Take the scopes' row locks, in one order (no deadlock between two workers)."""
    wanted = sorted(set(scopes))
    if not wanted:
        return
    rows = [{"merchant_id": m, "livemode": live, "events_consumed": 0} for m, live in wanted]
    await session.execute(_insert_ignore(session, AnalyticsScope), rows)
    merchants = sorted({m for m, _ in wanted})
    await session.execute(
        select(AnalyticsScope.merchant_id)
        .where(AnalyticsScope.merchant_id.in_(merchants))
        .order_by(AnalyticsScope.merchant_id, AnalyticsScope.livemode)
        .with_for_update()
    )


async def count_consumed(session: AsyncSession, counts: dict[Scope, tuple[int, int]]) -> None:
    for (merchant_id, livemode), (n, last) in counts.items():
        await session.execute(
            update(AnalyticsScope)
            .where(AnalyticsScope.merchant_id == merchant_id, AnalyticsScope.livemode == livemode)
            .values(events_consumed=AnalyticsScope.events_consumed + n, last_event_at=last)
        )


# --- payment_events and analytics_payments --------------------------------------------------


async def insert_payment_events(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert the rows not already there (a replayed event changes nothing)."""
    if not rows:
        return 0
    ids = [r["id"] for r in rows]
    have = set((await session.scalars(select(PE.id).where(PE.id.in_(ids)))).all())
    fresh = [r for r in rows if r["id"] not in have]
    if fresh:
        await session.execute(insert(PE), fresh)
    return len(fresh)


async def delete_payment_events(session: AsyncSession, merchant_id: str, since: int | None) -> None:
    query = delete(PE).where(PE.merchant_id == merchant_id)
    if since is not None:
        query = query.where(PE.timestamp >= since)
    await session.execute(query)


async def payment_events_of(session: AsyncSession, payment_ids: Sequence[str]) -> list[PE]:
    if not payment_ids:
        return []
    return list((await session.scalars(select(PE).where(PE.payment_id.in_(payment_ids)))).all())


async def payment_ids_since(
    session: AsyncSession, merchant_id: str, since: int | None, after: str | None, limit: int
) -> list[str]:
    query = select(PE.payment_id).where(PE.merchant_id == merchant_id)
    if since is not None:
        query = query.where(PE.timestamp >= since)
    if after is not None:
        query = query.where(PE.payment_id > after)
    query = query.group_by(PE.payment_id).order_by(PE.payment_id).limit(limit)
    return [str(p) for p in (await session.scalars(query)).all()]


async def summary_times(
    session: AsyncSession, payment_ids: Sequence[str]
) -> dict[str, tuple[int, int | None]]:
    """(created, succeeded_at) of the summaries as they are now."""
    if not payment_ids:
        return {}
    rows = await session.execute(
        select(PS.id, PS.created, PS.succeeded_at).where(PS.id.in_(payment_ids))
    )
    return {str(i): (int(c), s) for i, c, s in rows.all()}


async def replace_summaries(
    session: AsyncSession, payment_ids: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    if payment_ids:
        await session.execute(delete(PS).where(PS.id.in_(list(payment_ids))))
    if rows:
        await session.execute(insert(PS), rows)


async def ledger_times(
    session: AsyncSession, source_ids: Sequence[str]
) -> list[tuple[str, bool, int]]:
    """(merchant, mode, created) of the merchant-account rows of these charges and refunds."""
    if not source_ids:
        return []
    rows = await session.execute(
        select(BT.merchant_id, BT.livemode, BT.created).where(
            BT.source_id.in_(list(source_ids)), BT.account == "merchant"
        )
    )
    return [(str(m), bool(live), int(c)) for m, live, c in rows.all()]


# --- window sums ----------------------------------------------------------------------------


def empty_figures() -> dict[str, int]:
    return {
        "gross": 0,
        "fees": 0,
        "refunds": 0,
        "reversals": 0,
        "net": 0,
        "charge_count": 0,
        "refund_count": 0,
        "reversal_count": 0,
        "created_count": 0,
        "converted_count": 0,
        "succeeded_count": 0,
        "failed_count": 0,
        "canceled_count": 0,
        "expired_count": 0,
    }


def add_ledger(f: dict[str, int], type_: str, n: int, amount: int, fee: int, net: int) -> None:
    """One ledger type's sums into a window's figures (as settlements count them)."""
    f["net"] += net
    if type_ == "charge":
        f["gross"] += amount
        f["fees"] += fee
        f["charge_count"] += n
    elif type_ == "payment_reversal":
        f["reversals"] -= amount
        f["fees"] += fee
        f["reversal_count"] += n
    elif type_ in ("refund", "refund_failure"):
        f["refunds"] -= amount
        if type_ == "refund":
            f["refund_count"] += n


def add_event(f: dict[str, int], type_: str, reason: str | None, n: int) -> None:
    if type_ == "payment_intent.created":
        f["created_count"] += n
    elif type_ == "payment_intent.succeeded":
        f["succeeded_count"] += n
    elif type_ == "charge.failed":
        f["failed_count"] += n
    elif type_ == "payment_intent.canceled":
        f["expired_count" if reason == "expired" else "canceled_count"] += n


async def figures(
    session: AsyncSession, merchant_id: str, livemode: bool, start: int, end: int, width: int
) -> dict[int, dict[str, int]]:
    """The figures of every `width`-second bucket in [start, end) that had any activity."""
    out: dict[int, dict[str, int]] = {}

    def at(bucket: int) -> dict[str, int]:
        return out.setdefault(int(bucket), empty_figures())

    b = bucket_of(BT.created, width)
    ledger = await session.execute(
        select(b, BT.type, func.count(), func.sum(BT.amount), func.sum(BT.fee), func.sum(BT.net))
        .where(
            BT.merchant_id == merchant_id,
            BT.livemode == livemode,
            BT.account == "merchant",
            BT.created >= start,
            BT.created < end,
        )
        .group_by(b, BT.type)
    )
    for bucket, type_, n, amount, fee, net in ledger.all():
        add_ledger(at(bucket), str(type_), int(n), int(amount), int(fee), int(net))
    b = bucket_of(PE.timestamp, width)
    counted = await session.execute(
        select(b, PE.event_type, PE.reason, func.count())
        .where(
            PE.merchant_id == merchant_id,
            PE.livemode == livemode,
            PE.timestamp >= start,
            PE.timestamp < end,
            PE.event_type.in_(COUNTED_TYPES),
        )
        .group_by(b, PE.event_type, PE.reason)
    )
    for bucket, type_, reason, n in counted.all():
        add_event(at(bucket), str(type_), reason, int(n))
    b = bucket_of(PS.created, width)
    cohorts = await session.execute(
        select(b, func.count(PS.succeeded_at))
        .where(
            PS.merchant_id == merchant_id,
            PS.livemode == livemode,
            PS.created >= start,
            PS.created < end,
        )
        .group_by(b)
    )
    for bucket, converted in cohorts.all():
        if converted:
            at(bucket)["converted_count"] += int(converted)
    return out


async def paid_in(
    session: AsyncSession, merchant_id: str, livemode: bool, start: int, end: int
) -> list[tuple[int, str | None, int]]:
    """(succeeded_at, payer, seconds from creation) of the payments that succeeded in
    [start, end) and still stand."""
    rows = await session.execute(
        select(PS.succeeded_at, PS.payer, PS.succeeded_at - PS.created).where(
            PS.merchant_id == merchant_id,
            PS.livemode == livemode,
            PS.succeeded_at >= start,
            PS.succeeded_at < end,
        )
    )
    return [(int(s or 0), p, int(d or 0)) for s, p, d in rows.all()]


async def replace_intervals(
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    start: int,
    end: int,
    rows: list[dict[str, Any]],
) -> None:
    await session.execute(
        delete(IntervalMetrics).where(
            IntervalMetrics.merchant_id == merchant_id,
            IntervalMetrics.livemode == livemode,
            IntervalMetrics.bucket_start >= start,
            IntervalMetrics.bucket_start < end,
        )
    )
    if rows:
        await session.execute(insert(IntervalMetrics), rows)


async def replace_days(
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    start: int,
    end: int,
    rows: list[dict[str, Any]],
) -> None:
    await session.execute(
        delete(DailyMetrics).where(
            DailyMetrics.merchant_id == merchant_id,
            DailyMetrics.livemode == livemode,
            DailyMetrics.day_start >= start,
            DailyMetrics.day_start < end,
        )
    )
    if rows:
        await session.execute(insert(DailyMetrics), rows)


async def activity_bounds(
    session: AsyncSession, merchant_id: str, livemode: bool
) -> tuple[int | None, int | None]:
    """The first and last second with anything to roll up for a scope."""
    lows, highs = [], []
    for column, scope in (
        (BT.created, (BT.merchant_id == merchant_id, BT.livemode == livemode)),
        (PE.timestamp, (PE.merchant_id == merchant_id, PE.livemode == livemode)),
        (PS.created, (PS.merchant_id == merchant_id, PS.livemode == livemode)),
    ):
        low, high = (
            await session.execute(select(func.min(column), func.max(column)).where(*scope))
        ).one()
        if low is not None:
            lows.append(int(low))
            highs.append(int(high))
    return (min(lows) if lows else None, max(highs) if highs else None)


async def delete_derived(
    session: AsyncSession, merchant_id: str, livemode: bool, since: int | None
) -> None:
    for table, column in (
        (IntervalMetrics, IntervalMetrics.bucket_start),
        (DailyMetrics, DailyMetrics.day_start),
    ):
        query = delete(table).where(table.merchant_id == merchant_id, table.livemode == livemode)
        if since is not None:
            query = query.where(column >= since)
        await session.execute(query)


async def summary_modes(session: AsyncSession, payment_ids: Sequence[str]) -> dict[str, bool]:
    if not payment_ids:
        return {}
    rows = await session.execute(
        select(PE.payment_id, PE.livemode).where(PE.payment_id.in_(list(payment_ids))).distinct()
    )
    return {str(p): bool(live) for p, live in rows.all()}
