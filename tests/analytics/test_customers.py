"""Payers: every figure equals the same figure from the intents of the generated history."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests.analytics.history import DAY
from tests.analytics.truth import Truth


def rate(a: int, b: int) -> str:
    return "0.0000" if b == 0 else str((Decimal(a) / Decimal(b)).quantize(Decimal("0.0001")))


async def test_customers_equal_the_intents(app: Any, history: Any) -> None:
    made, shops = history
    zone = "America/New_York"
    tz = ZoneInfo(zone)
    start, end = made.end - 30 * DAY, made.end
    for shop in shops:
        truth = await Truth.load(app.state.gateway.sessions, shop.id)
        params = {"start": start, "end": end, "timezone": zone, "limit": 5}
        body = (await shop.get("/v1/analytics/customers", params)).json()
        paid = truth.paid(end)
        first: dict[str, int] = {}
        volume: dict[str, int] = defaultdict(int)
        months: dict[str, set[str]] = defaultdict(set)
        for pi in paid:
            first[pi.payer] = min(first.get(pi.payer, pi.succeeded_at), pi.succeeded_at)
            volume[pi.payer] += pi.amount_received
            months[pi.payer].add(datetime.fromtimestamp(pi.succeeded_at, tz).strftime("%Y-%m"))
        period: dict[str, list[int]] = defaultdict(list)
        for pi in paid:
            if pi.succeeded_at >= start:
                period[pi.payer].append(pi.amount_received)
        assert body["payers"] == len(period)
        assert body["new"] == sum(1 for p in period if first[p] >= start)
        assert body["returning"] == body["payers"] - body["new"]
        assert body["repeat_rate"] == rate(
            sum(1 for v in period.values() if len(v) >= 2), len(period)
        )
        top = sorted(((p, sum(v), len(v)) for p, v in period.items()), key=lambda x: (-x[1], x[0]))
        assert body["top_payers"] == [
            {"payer": p, "payments": n, "volume": v} for p, v, n in top[:5]
        ]
        assert body["lifetime"]["payers"] == len(first)
        assert body["lifetime"]["volume"] == sum(volume.values())
        assert body["lifetime"]["average_lifetime_value"] == sum(volume.values()) // len(first)
        for cohort in body["cohorts"]:
            members = [
                p for p, f in first.items()
                if datetime.fromtimestamp(f, tz).strftime("%Y-%m") == cohort["month"]
            ]  # fmt: skip
            assert cohort["payers"] == len(members)
            assert cohort["retention"][0] == "1.0000"
            later = sorted({m for p in members for m in months[p]})
            for month in later:
                k = (
                    (int(month[:4]) - int(cohort["month"][:4])) * 12
                    + int(month[5:])
                    - int(cohort["month"][5:])
                )
                expected = rate(sum(1 for p in members if month in months[p]), len(members))
                assert cohort["retention"][k] == expected
