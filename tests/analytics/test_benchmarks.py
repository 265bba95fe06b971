"""Benchmarks: suppressed below 10 merchants or when one dominates; and no other merchant's
figure can be recovered from what is published (ADR 0016's disclosure rules)."""

from __future__ import annotations

import calendar
from fractions import Fraction
from typing import Any

import httpx
from sqlalchemy import delete

from sbtc_gateway.analytics.benchmarks import Kind, blurred_quantile, shown
from sbtc_gateway.analytics.models import DailyMetrics
from tests.conftest import Merchant, sign_up

DAY = 86_400
# a quiet corner of time that no other suite writes into
END = calendar.timegm((2021, 3, 1, 0, 0, 0))


async def _cohort(
    app: Any, client: httpx.AsyncClient, tier: str, figures: list[dict[str, int]]
) -> list[Merchant]:
    shops = [await sign_up(client, tier=tier) for _ in figures]
    async with app.state.gateway.sessions.begin() as session:
        for shop, f in zip(shops, figures, strict=True):
            for current, day in ((False, END - 45 * DAY), (True, END - 5 * DAY)):
                gross = f["gross"] if current else f["previous"]
                charges = f["charges"] if current else max(1, f["charges"] // 2)
                session.add(DailyMetrics(
                    merchant_id=shop.id, livemode=False, day_start=day, date="x",
                    gross=gross, total_volume=gross, charge_count=charges,
                    transaction_count=charges,
                    created_count=f["created"], converted_count=f["converted"],
                    refunds=f["refunds"] if current else 0, fees=0, net=gross, reversals=0,
                    refund_count=0, reversal_count=0, succeeded_count=0, failed_count=0,
                    canceled_count=0, expired_count=0, average_amount=0, distinct_payers=0,
                ))  # fmt: skip
    return shops


def _figures(i: int) -> dict[str, int]:
    return {
        "gross": 1_000_000 + 137_913 * i,
        "previous": 900_000 + 51_357 * i,
        "charges": 10 + i,
        "created": 7 * (9 + 2 * i),  # no rate is a round decimal by chance
        "converted": 11 + 2 * i,
        "refunds": 3_171 * i,
    }


def _published(values: list[Fraction], kind: Kind) -> list[int | str]:
    return [shown(blurred_quantile(values, q), kind) for q in (0.25, 0.5, 0.75)]


async def _get(shop: Merchant) -> dict[str, Any]:
    response = await shop.get("/v1/analytics/benchmarks", {"end": END, "period_days": 30})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _clear(app: Any, shops: list[Merchant]) -> None:
    async with app.state.gateway.sessions.begin() as session:
        await session.execute(
            delete(DailyMetrics).where(DailyMetrics.merchant_id.in_([s.id for s in shops]))
        )


async def test_too_small_a_cohort_is_suppressed(app: Any, client: httpx.AsyncClient) -> None:
    shops = await _cohort(app, client, "growth", [_figures(i) for i in range(10)])
    try:
        body = await _get(shops[0])  # nine others
        assert (body["status"], body["reason"], body["metrics"]) == (
            "suppressed",
            "cohort_too_small",
            None,
        )
    finally:
        await _clear(app, shops)


async def test_a_dominant_merchant_suppresses(app: Any, client: httpx.AsyncClient) -> None:
    figures = [_figures(i) for i in range(12)]
    figures[3]["gross"] = 50_000_000  # more than 30 % of everyone else's volume together
    shops = await _cohort(app, client, "scale", figures)
    try:
        body = await _get(shops[0])
        assert (body["status"], body["reason"]) == ("suppressed", "dominated")
    finally:
        await _clear(app, shops)


async def test_no_other_merchants_figure_can_be_recovered(
    app: Any, client: httpx.AsyncClient
) -> None:
    figures = [_figures(i) for i in range(14)]
    shops = await _cohort(app, client, "enterprise", figures)
    try:
        me = shops[0]
        body = await _get(me)
        assert body["status"] == "ok"
        assert body["cohort_size"] == "10-24"
        metrics = body["metrics"]
        others = figures[1:]
        exact = {
            "average_amount": [Fraction(f["gross"], f["charges"]) for f in others],
            "conversion_rate": [Fraction(f["converted"], f["created"]) for f in others],
            "refund_rate": [Fraction(f["refunds"], f["gross"]) for f in others],
            "volume_growth": [Fraction(f["gross"] - f["previous"], f["previous"]) for f in others],
        }
        for name, values in exact.items():
            m = metrics[name]
            assert m["status"] == "ok"
            for q in ("p25", "p50", "p75"):
                published = Fraction(str(m[q]))
                # not any one merchant's figure, exactly or as rounded
                assert all(published != v for v in values), (name, q)
                # it is the blurred quantile of the others, rounded (2 significant figures for
                # sats, 2 decimals for rates)
                blurred = blurred_quantile(values, int(q[1:]) / 100)
                slack = blurred / 20 if name == "average_amount" else Fraction(1, 200)
                assert abs(published - blurred) <= slack, (name, q)
            assert m["percentile"] % 5 == 0
        # The caller's own figures are not in the cohort: changing them changes nothing but
        # its own line (no lever to probe the others with).
        async with app.state.gateway.sessions.begin() as session:
            await session.execute(delete(DailyMetrics).where(DailyMetrics.merchant_id == me.id))
        again = await _get(me)
        for name in exact:
            for q in ("p25", "p50", "p75"):
                assert again["metrics"][name][q] == metrics[name][q]
        # Even an attacker who knows every other figure (sybil merchants) cannot pin one
        # down: for each merchant, a figure 3 % away on one side at least publishes the same.
        for name, kind in (("average_amount", "sats"), ("conversion_rate", "rate")):
            values = exact[name]
            base = _published(values, kind)
            for k, v in enumerate(values):
                moved = [
                    [*values[:k], v * Fraction(100 + d, 100), *values[k + 1 :]] for d in (-3, 3)
                ]
                assert any(_published(m, kind) == base for m in moved), (name, k)
    finally:
        await _clear(app, shops)
