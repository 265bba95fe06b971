"""The merchant's analytics: summary, time series, conversion funnel and realtime figures.

Read-only, on the analytics sessions (`AnalyticsReader`: a replica when
`SBTC_ANALYTICS_DATABASE_URL` is set). Money is integer satoshis, rates decimal strings with
four places; ranges are on the quarter-hour grid (`periods.window`), in the caller's mode only.
"""

from __future__ import annotations

import bisect
import time
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy.ext.asyncio import async_sessionmaker

from sbtc_gateway.analytics import periods, queries
from sbtc_gateway.analytics.periods import Interval, ratio
from sbtc_gateway.analytics.rollup import nearest_rank
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.db.engine import ReadSession
from sbtc_gateway.infra.base import Cache

Metric = Literal[
    "gross_volume", "net_volume", "count", "conversion_rate", "average_amount", "refunds"
]
PERCENTILES = (0.5, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class AnalyticsReader:
    """What the analytics endpoints read with: read-only sessions and the realtime cache."""

    sessions: async_sessionmaker[ReadSession]
    realtime_cache: Cache
    projection_cache: Cache
    realtime_seconds: float = 30.0


def totals(rows: list[tuple[int, dict[str, int]]]) -> dict[str, int]:
    out = {name: 0 for name in queries.FIGURES}
    for _, figures in rows:
        for name, value in figures.items():
            out[name] += value
    return out


def render_totals(t: dict[str, int]) -> dict[str, Any]:
    return {
        "gross_volume": t["gross"],
        "net_volume": t["net"],
        "fees": t["fees"],
        "refunds": t["refunds"],
        "reversals": t["reversals"],
        "charges": t["charge_count"],
        "created": t["created_count"],
        "succeeded": t["succeeded_count"],
        "failed": t["failed_count"],
        "canceled": t["canceled_count"],
        "expired": t["expired_count"],
        "average_amount": t["gross"] // t["charge_count"] if t["charge_count"] else 0,
        "conversion_rate": ratio(t["converted_count"], t["created_count"]),
    }


async def summary(
    reader: AnalyticsReader, caller: AuthenticatedKey, start: int | None, end: int | None
) -> dict[str, Any]:
    start, end = periods.window(start, end)
    before = start - (end - start)
    async with reader.sessions() as session:
        rows = await queries.intervals(session, caller.merchant_id, caller.livemode, before, end)
    cut = bisect.bisect_left([b for b, _ in rows], start)
    return {
        "object": "analytics.summary",
        "livemode": caller.livemode,
        "currency": "sbtc",
        "start": start,
        "end": end,
        **render_totals(totals(rows[cut:])),
        "previous_period": {
            "start": before,
            "end": start,
            **render_totals(totals(rows[:cut])),
        },
    }


def metric_value(metric: Metric, t: dict[str, int]) -> int | str:
    if metric == "gross_volume":
        return t["gross"]
    if metric == "net_volume":
        return t["net"]
    if metric == "count":
        return t["charge_count"]
    if metric == "refunds":
        return t["refunds"]
    if metric == "average_amount":
        return t["gross"] // t["charge_count"] if t["charge_count"] else 0
    return ratio(t["converted_count"], t["created_count"])


async def timeseries(
    reader: AnalyticsReader,
    caller: AuthenticatedKey,
    *,
    metric: Metric,
    interval: Interval,
    start: int | None,
    end: int | None,
    timezone: str | None,
) -> dict[str, Any]:
    tz = periods.zone(timezone)
    start, end = periods.window(start, end)
    edges = periods.boundaries(start, end, tz, interval)
    async with reader.sessions() as session:
        rows = await queries.intervals(
            session, caller.merchant_id, caller.livemode, edges[0], edges[-1]
        )
    buckets: list[list[tuple[int, dict[str, int]]]] = [[] for _ in edges[:-1]]
    for row in rows:
        buckets[bisect.bisect_right(edges, row[0]) - 1].append(row)
    data = [
        {
            "start": low,
            "end": high,
            "date": periods.iso_day(low, tz),
            "value": metric_value(metric, totals(bucket)),
        }
        for low, high, bucket in zip(edges, edges[1:], buckets, strict=False)
    ]
    return {
        "object": "analytics.timeseries",
        "livemode": caller.livemode,
        "metric": metric,
        "interval": interval,
        "timezone": str(tz.key),
        "start": edges[0],
        "end": edges[-1],
        "data": data,
    }


def _percentiles(values: list[int]) -> dict[str, int | None]:
    return {f"p{round(p * 100)}": nearest_rank(values, p) for p in PERCENTILES}


def _abandonment(rows: list[tuple[str | None, str | None, int, int, int]]) -> dict[str, Any]:
    out: dict[str, Any] = {"expired": 0, "canceled": {}, "failed_on_chain": {}, "reversed": 0}
    for cancellation, failure, _reached, was_reversed, n in rows:
        if cancellation == "expired":
            out["expired"] += n
        elif cancellation is not None:
            out["canceled"][cancellation] = out["canceled"].get(cancellation, 0) + n
        elif was_reversed:
            out["reversed"] += n
        elif failure is not None:
            out["failed_on_chain"][failure] = out["failed_on_chain"].get(failure, 0) + n
    return out


async def conversion(
    reader: AnalyticsReader, caller: AuthenticatedKey, start: int | None, end: int | None
) -> dict[str, Any]:
    """The funnel of the payments created in the range: created → confirmed → processing →
    succeeded, what became of the others, and how long paying took."""
    start, end = periods.window(start, end)
    scope = (caller.merchant_id, caller.livemode, start, end)
    async with reader.sessions() as session:
        counts = await queries.funnel_counts(session, *scope)
        lost = await queries.abandoned(session, *scope)
        still_open = await queries.open_count(session, *scope)
        durations = await queries.times_to_pay(session, *scope)
    names = ["created", "confirmed", "processing", "succeeded"]
    steps = []
    for i, name in enumerate(names):
        previous = counts[names[i - 1]] if i else counts[name]
        steps.append(
            {
                "step": name,
                "count": counts[name],
                "drop_off": previous - counts[name],
                "drop_off_rate": ratio(previous - counts[name], previous),
            }
        )
    return {
        "object": "analytics.conversion",
        "livemode": caller.livemode,
        "start": start,
        "end": end,
        "steps": steps,
        "conversion_rate": ratio(counts["succeeded"], counts["created"]),
        "abandonment": {**_abandonment(lost), "open": still_open},
        "time_to_pay": {"count": len(durations), **_percentiles(durations)},
    }


WINDOWS = (5, 60)


def realtime_figures(
    rows: list[tuple[str, int, int, str | None, str]], seen: dict[str, int], now: int, minutes: int
) -> dict[str, Any]:
    since = now - minutes * 60
    inside = [r for r in rows if r[1] >= since]
    succeeded = [r for r in inside if r[0] == "payment_intent.succeeded"]
    charged = [r for r in inside if r[0] == "charge.succeeded"]
    failed = [r for r in inside if r[0] == "charge.failed"]
    confirmations = [ts - seen[c] for _, ts, _, c, _ in charged if c in seen]
    return {
        "minutes": minutes,
        "payments": len(succeeded),
        "payments_per_minute": ratio(len(succeeded), minutes),
        "volume": sum(amount for _, _, amount, _, _ in charged),
        "attempts": len(charged) + len(failed),
        "success_rate": ratio(len(charged), len(charged) + len(failed)),
        "confirmation_seconds": {
            "p50": nearest_rank(confirmations, 0.5),
            "p95": nearest_rank(confirmations, 0.95),
        },
    }


async def realtime_windows(
    reader: AnalyticsReader, merchant_id: str | None, livemode: bool, now: int
) -> tuple[list[dict[str, Any]], int]:
    """The realtime windows of one merchant (or of all, `None`) and how many merchants were
    active in the longest one."""
    async with reader.sessions() as session:
        rows = await queries.recent(session, merchant_id, livemode, now - max(WINDOWS) * 60, now)
        charges = [c for t, _, _, c, _ in rows if t == "charge.succeeded" and c]
        seen = await queries.pending_seen(session, charges)
    active = len({m for *_, m in rows})
    return [realtime_figures(rows, seen, now, w) for w in WINDOWS], active


async def realtime(reader: AnalyticsReader, caller: AuthenticatedKey) -> dict[str, Any]:
    """The last 5 and 60 minutes, kept in the shared cache (`metrics:realtime`, 30 s)."""
    key = f"{caller.merchant_id}:{'live' if caller.livemode else 'test'}"
    cached = await reader.realtime_cache.get(key, key)
    if cached.value is not None:
        loaded: dict[str, Any] = orjson.loads(cached.value)
        return loaded
    now = int(time.time())
    windows, _ = await realtime_windows(reader, caller.merchant_id, caller.livemode, now)
    body = {
        "object": "analytics.realtime",
        "livemode": caller.livemode,
        "generated_at": now,
        "windows": windows,
    }
    if reader.realtime_seconds > 0:
        await reader.realtime_cache.set(
            key, cached.stamp, orjson.dumps(body), reader.realtime_seconds
        )
    return body
