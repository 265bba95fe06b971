"""Every figure of summary, timeseries and conversion equals the same figure computed from the
ledger and the domain tables of a generated history (several merchants, months, refunds,
reorgs and payments lost for good), on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.analytics.history import DAY
from tests.analytics.truth import Truth, by_local, nearest_rank


def rate(a: int, b: int) -> str:
    return "0.0000" if b == 0 else str((Decimal(a) / Decimal(b)).quantize(Decimal("0.0001")))


async def test_the_history_has_what_the_suite_needs(app: Any, history: Any) -> None:
    made, shops = history
    kinds = set()
    for shop in shops:
        truth = await Truth.load(app.state.gateway.sessions, shop.id)
        kinds |= {t for _, t, *_ in truth.ledger}
    assert {"charge", "refund", "payment_reversal"} <= kinds
    assert made.intents > 500


@pytest.mark.parametrize("days", [7, 30, 75])
async def test_summary_equals_the_ledger(app: Any, history: Any, days: int) -> None:
    made, shops = history
    end, start = made.end, made.end - days * DAY
    for shop in shops:
        truth = await Truth.load(app.state.gateway.sessions, shop.id)
        body = (await shop.get("/v1/analytics/summary", {"start": start, "end": end})).json()
        money, counts = truth.money(start, end), truth.counts(start, end)
        assert (body["start"], body["end"]) == (start, end)
        assert body["gross_volume"] == money["gross"]
        assert body["net_volume"] == money["net"]
        assert body["fees"] == money["fees"]
        assert body["refunds"] == money["refunds"]
        assert body["reversals"] == money["reversals"]
        assert body["charges"] == money["charges"]
        assert body["average_amount"] == (
            money["gross"] // money["charges"] if money["charges"] else 0
        )
        for name in ("created", "succeeded", "failed", "canceled", "expired"):
            assert body[name] == counts[name], name
        assert body["conversion_rate"] == rate(counts["converted"], counts["created"])
        before = body["previous_period"]
        assert before["end"] == start
        assert before["start"] == start - days * DAY
        assert before["gross_volume"] == truth.money(start - days * DAY, start)["gross"]


@pytest.mark.parametrize(
    ("zone", "interval"),
    [
        ("UTC", "day"),
        ("America/New_York", "day"),
        ("Asia/Kolkata", "week"),
        ("Europe/Paris", "month"),
    ],
)
async def test_timeseries_in_a_time_zone_equals_the_ledger(
    app: Any, history: Any, zone: str, interval: str
) -> None:
    made, shops = history
    tz = ZoneInfo(zone)
    shop = shops[0]
    truth = await Truth.load(app.state.gateway.sessions, shop.id)
    params = {"start": made.start, "end": made.end, "interval": interval, "timezone": zone}
    series = {}
    for metric in ("gross_volume", "net_volume", "count", "refunds", "conversion_rate"):
        response = await shop.get("/v1/analytics/timeseries", {**params, "metric": metric})
        assert response.status_code == 200, response.text
        series[metric] = {b["date"]: b["value"] for b in response.json()["data"]}
    data = response.json()["data"]
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(data))
    lo, hi = data[0]["start"], data[-1]["end"]
    gross = by_local(
        [(c, a) for c, t, a, _, _ in truth.ledger if t == "charge" and lo <= c < hi], tz, interval
    )
    net = by_local([(c, n) for c, _, _, _, n in truth.ledger if lo <= c < hi], tz, interval)
    count = by_local(
        [(c, 1) for c, t, *_ in truth.ledger if t == "charge" and lo <= c < hi], tz, interval
    )
    back = ("refund", "refund_failure")
    refunds = by_local(
        [(c, -a) for c, t, a, _, _ in truth.ledger if t in back and lo <= c < hi], tz, interval
    )
    created = by_local([(pi.created, 1) for pi in truth.created_in(lo, hi)], tz, interval)
    converted = by_local(
        [(pi.created, 1) for pi in truth.created_in(lo, hi) if pi.status == "succeeded"],
        tz,
        interval,
    )
    for day in series["gross_volume"]:  # every bucket is there, empty ones with 0
        assert series["gross_volume"][day] == gross.get(day, 0), day
        assert series["net_volume"][day] == net.get(day, 0), day
        assert series["count"][day] == count.get(day, 0), day
        assert series["refunds"][day] == refunds.get(day, 0), day
        assert series["conversion_rate"][day] == rate(converted.get(day, 0), created.get(day, 0))
    assert set(gross) <= set(series["gross_volume"])
    if interval == "day":
        assert len(data) >= 75


async def test_conversion_funnel_equals_the_intents(app: Any, history: Any) -> None:
    made, shops = history
    start, end = made.start, made.end
    for shop in shops:
        truth = await Truth.load(app.state.gateway.sessions, shop.id)
        body = (await shop.get("/v1/analytics/conversion", {"start": start, "end": end})).json()
        intents = truth.created_in(start, end)
        with_charge = {c.payment_intent_id for c in truth.charges}
        succeeded = [pi for pi in intents if pi.status == "succeeded"]
        confirmed = [
            pi for pi in intents if pi.expires_at_block is not None or pi.id in with_charge
        ]
        processing = [pi for pi in intents if pi.id in with_charge]
        steps = {s["step"]: s["count"] for s in body["steps"]}
        assert steps == {
            "created": len(intents),
            "confirmed": len(confirmed),
            "processing": len(processing),
            "succeeded": len(succeeded),
        }
        lost = body["abandonment"]
        canceled = [pi for pi in intents if pi.status == "canceled" and not pi.late_payment]
        assert lost["expired"] == sum(1 for pi in canceled if pi.cancellation_reason == "expired")
        by_reason: dict[str, int] = {}
        for pi in canceled:
            if pi.cancellation_reason not in ("expired", None):
                by_reason[pi.cancellation_reason] = by_reason.get(pi.cancellation_reason, 0) + 1
        assert lost["canceled"] == by_reason
        reversed_ = [
            pi for pi in intents
            if pi.status == "requires_payment_method"
            and (pi.last_payment_error or {}).get("code") == "payment_reversed"
        ]  # fmt: skip
        assert lost["reversed"] == len(reversed_)
        durations = [pi.succeeded_at - pi.created for pi in succeeded]
        assert body["time_to_pay"]["count"] == len(durations)
        for p in (50, 90, 95, 99):
            assert body["time_to_pay"][f"p{p}"] == nearest_rank(durations, p / 100)


async def test_another_merchant_and_the_other_mode_see_nothing(
    app: Any, history: Any, merchant: Any
) -> None:
    made, _ = history
    body = (
        await merchant.get("/v1/analytics/summary", {"start": made.start, "end": made.end})
    ).json()
    assert body["gross_volume"] == 0
    assert body["created"] == 0


async def test_bad_parameters_are_400s_naming_them(history: Any) -> None:
    _, shops = history
    shop = shops[0]
    for path, params, param in [
        (
            "/v1/analytics/timeseries",
            {"metric": "gross_volume", "timezone": "Mars/Base"},
            "timezone",
        ),
        ("/v1/analytics/timeseries", {"metric": "nope"}, "metric"),
        ("/v1/analytics/summary", {"start": 2000, "end": 1000}, "start"),
        ("/v1/analytics/projections", {"horizon_days": 45}, "horizon_days"),
        ("/v1/analytics/customers", {"limit": 0}, "limit"),
    ]:
        response = await shop.get(path, params)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["error"]["param"] == param
