"""Payers by address (the customer's Stacks principal): new and returning, repeat rate, top
payers, retention by month of first payment (in the caller's time zone), lifetime value.

A payer's volume is what its payments that still stand brought in (`amount_received`); a
payment reversed after a reorg counts for nobody.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sbtc_gateway.analytics import periods, queries
from sbtc_gateway.analytics.periods import ratio
from sbtc_gateway.analytics.service import AnalyticsReader
from sbtc_gateway.core.principal import AuthenticatedKey

COHORT_MONTHS = 12


def month_edges(end: int, tz: Any, months: int) -> list[int]:
    """Local month starts: the `months` months up to the one holding `end - 1`, then `end`."""
    last = datetime.fromtimestamp(end - 1, tz)
    year, month = last.year, last.month
    starts = []
    for _ in range(months):
        starts.append(periods.floor_q(int(datetime(year, month, 1, tzinfo=tz).timestamp())))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return [*reversed(starts), end]


async def customers(
    reader: AnalyticsReader,
    caller: AuthenticatedKey,
    *,
    start: int | None,
    end: int | None,
    timezone: str | None,
    limit: int,
) -> dict[str, Any]:
    tz = periods.zone(timezone)
    start, end = periods.window(start, end)
    edges = month_edges(end, tz, COHORT_MONTHS)
    scope = (caller.merchant_id, caller.livemode)
    async with reader.sessions() as session:
        lifetime = await queries.payers_lifetime(session, *scope, end)
        period = await queries.payers_between(session, *scope, start, end)
        active = await queries.payer_months(session, *scope, edges)
    first = {payer: f for payer, _, _, f in lifetime}
    new = sum(1 for payer, _, _ in period if first[payer] >= start)
    repeat = sum(1 for _, n, _ in period if n >= 2)
    top = sorted(period, key=lambda p: (-p[2], p[0]))[:limit]
    months: dict[str, set[int]] = defaultdict(set)
    for payer, index in active:
        months[payer].add(index)
    cohorts: dict[int, list[str]] = defaultdict(list)
    for payer, when in first.items():
        if when >= edges[0]:
            cohorts[_index(edges, when)].append(payer)
    lifetime_volume = sum(v for _, _, v, _ in lifetime)
    return {
        "object": "analytics.customers",
        "livemode": caller.livemode,
        "timezone": str(tz.key),
        "start": start,
        "end": end,
        "payers": len(period),
        "new": new,
        "returning": len(period) - new,
        "repeat_rate": ratio(repeat, len(period)),
        "top_payers": [{"payer": p, "payments": n, "volume": v} for p, n, v in top],
        "cohorts": [
            {
                "month": datetime.fromtimestamp(edges[i], tz).strftime("%Y-%m"),
                "start": edges[i],
                "payers": len(members),
                "retention": [
                    ratio(sum(1 for p in members if k in months[p]), len(members))
                    for k in range(i, len(edges) - 1)
                ],
            }
            for i, members in sorted(cohorts.items())
        ],
        "lifetime": {
            "payers": len(lifetime),
            "volume": lifetime_volume,
            "average_lifetime_value": lifetime_volume // len(lifetime) if lifetime else 0,
        },
    }


def _index(edges: list[int], when: int) -> int:
    for i in range(len(edges) - 1):
        if when < edges[i + 1]:
            return i
    return len(edges) - 2
