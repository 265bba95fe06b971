"""The analytics consumer: events outbox → `payment_events`, `analytics_payments`,
`interval_metrics` and `daily_metrics` (ADR 0016). Takes a session, never commits.

A batch is folded in one transaction with its events' `analytics_pending` flags cleared, so a
crash loses nothing and repeats nothing (the flags are the cursor, committed with the rows).
Every derived row is *recomputed* from its sources — the ledger, `payment_events`, the payment
summaries — for the windows a batch touched, never incremented: replaying an event, or
rebuilding from scratch, writes the same rows. The windows a batch touches are those of its
events, of the ledger rows of the charges and refunds they name (a refund or a reversal lands
in the day the ledger put it in), and of the creation and success of every payment they
concern (a reversal also changes the conversion of the day the payment was created).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.analytics import derive, repository
from sbtc_gateway.analytics.models import BUCKET_SECONDS, DAY_SECONDS
from sbtc_gateway.analytics.repository import Scope

# Touched buckets closer than this are recomputed as one range (fewer, slightly wider queries).
MERGE_GAP = 4


def _floor(ts: int, width: int) -> int:
    return ts - ts % width


def runs(starts: Iterable[int], width: int) -> list[tuple[int, int]]:
    """Sorted bucket starts → [start, end) ranges covering them (near ones merged)."""
    out: list[tuple[int, int]] = []
    for start in sorted(set(starts)):
        if out and start - out[-1][1] <= MERGE_GAP * width:
            out[-1] = (out[-1][0], start + width)
        else:
            out.append((start, start + width))
    return out


def nearest_rank(values: list[int], p: float) -> int | None:
    """The p-th percentile by nearest rank (a value that occurred), None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    k = max(1, -(-int(p * 100) * len(ordered) // 100))
    return ordered[min(k, len(ordered)) - 1]


async def apply(session: AsyncSession, events: list[dict[str, Any]]) -> int:
    """Fold `events` (rows of `events`, any merchants) into the analytics tables. The caller
    holds the scope locks of every (merchant, mode) in it. Returns the payment events added."""
    rows = [r for r in (derive.payment_event(e) for e in events) if r is not None]
    added = await repository.insert_payment_events(session, rows)
    touched: dict[Scope, set[int]] = defaultdict(set)
    for row in rows:
        touched[(row["merchant_id"], row["livemode"])].add(row["timestamp"])
    sources = [r["charge_id"] for r in rows if r["charge_id"]]
    sources += [r["details"]["object_id"] for r in rows if r["event_type"].startswith("refund.")]
    for merchant_id, livemode, created in await repository.ledger_times(session, sources):
        touched[(merchant_id, livemode)].add(created)
    scope_of = {r["payment_id"]: (r["merchant_id"], r["livemode"]) for r in rows}
    for payment_id, times in (await resummarize(session, list(scope_of))).items():
        touched[scope_of[payment_id]].update(times)
    for (merchant_id, livemode), times in touched.items():
        await recompute(session, merchant_id, livemode, times)
    return added


async def resummarize(session: AsyncSession, payment_ids: list[str]) -> dict[str, set[int]]:
    """Rewrite the summaries of these payments from all their payment events; returns, per
    payment, the times whose windows changed (creation, old and new success)."""
    if not payment_ids:
        return {}
    before = await repository.summary_times(session, payment_ids)
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in await repository.payment_events_of(session, payment_ids):
        grouped[row.payment_id].append(row)
    summaries = [s for s in (derive.summarize(grouped[p]) for p in payment_ids) if s is not None]
    await repository.replace_summaries(session, payment_ids, summaries)
    times: dict[str, set[int]] = defaultdict(set)
    for payment_id, (created, succeeded) in before.items():
        times[payment_id].add(created)
        if succeeded is not None:
            times[payment_id].add(succeeded)
    for s in summaries:
        times[s["id"]].add(s["created"])
        if s["succeeded_at"] is not None:
            times[s["id"]].add(s["succeeded_at"])
    return times


async def recompute(
    session: AsyncSession, merchant_id: str, livemode: bool, times: Iterable[int]
) -> None:
    """Recompute the quarter hours and UTC days holding `times` from their sources."""
    times = list(times)
    for start, end in runs((_floor(t, BUCKET_SECONDS) for t in times), BUCKET_SECONDS):
        await recompute_intervals(session, merchant_id, livemode, start, end)
    for start, end in runs((_floor(t, DAY_SECONDS) for t in times), DAY_SECONDS):
        await recompute_days(session, merchant_id, livemode, start, end)


async def recompute_intervals(
    session: AsyncSession, merchant_id: str, livemode: bool, start: int, end: int
) -> None:
    found = await repository.figures(session, merchant_id, livemode, start, end, BUCKET_SECONDS)
    rows = [
        {"merchant_id": merchant_id, "livemode": livemode, "bucket_start": b, **f}
        for b, f in sorted(found.items())
    ]
    await repository.replace_intervals(session, merchant_id, livemode, start, end, rows)


def day_row(
    merchant_id: str,
    livemode: bool,
    day: int,
    f: dict[str, int],
    paid: list[tuple[str | None, int]],
) -> dict[str, Any]:
    return {
        "merchant_id": merchant_id,
        "livemode": livemode,
        "day_start": day,
        "date": datetime.fromtimestamp(day, UTC).strftime("%Y-%m-%d"),
        **f,
        "total_volume": f["gross"],
        "transaction_count": f["charge_count"],
        "average_amount": f["gross"] // f["charge_count"] if f["charge_count"] else 0,
        "distinct_payers": len({payer for payer, _ in paid if payer}),
        "median_time_to_pay": nearest_rank([seconds for _, seconds in paid], 0.5),
    }


async def recompute_days(
    session: AsyncSession, merchant_id: str, livemode: bool, start: int, end: int
) -> None:
    found = await repository.figures(session, merchant_id, livemode, start, end, DAY_SECONDS)
    paid: dict[int, list[tuple[str | None, int]]] = defaultdict(list)
    for succeeded_at, payer, seconds in await repository.paid_in(
        session, merchant_id, livemode, start, end
    ):
        paid[_floor(succeeded_at, DAY_SECONDS)].append((payer, seconds))
    days = sorted(set(found) | set(paid))
    rows = [
        day_row(merchant_id, livemode, d, found.get(d) or repository.empty_figures(), paid[d])
        for d in days
    ]
    await repository.replace_days(session, merchant_id, livemode, start, end, rows)


async def consume_once(session: AsyncSession, *, batch: int) -> int:
    """One batch of the outbox, in the caller's transaction. Returns the events consumed."""
    events = await repository.claim_events(session, batch)
    if not events:
        return 0
    scopes: dict[Scope, tuple[int, int]] = {}
    for e in events:
        key = (e["merchant_id"], e["livemode"])
        n, last = scopes.get(key, (0, 0))
        scopes[key] = (n + 1, max(last, e["created"]))
    await repository.lock_scopes(session, scopes)
    await apply(session, events)
    await repository.mark_consumed(session, [e["id"] for e in events])
    await repository.count_consumed(session, scopes)
    return len(events)
