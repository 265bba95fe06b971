"""`/v1/analytics/benchmarks`: where a merchant stands among merchants of its tier, without
telling it anything about any one of them (ADR 0016).

Disclosure rules (statistical disclosure control, as statistics offices publish tables):
- the cohort is the *other* merchants of the tier and mode with volume in the period (the
  caller is left out, so it cannot lever its own figures), at least `MIN_COHORT` of them, and
  none with more than `MAX_SHARE` of the cohort's volume; otherwise `suppressed`, with why;
- a metric that fewer than `MIN_COHORT` merchants have (growth needs a previous period) is
  suppressed on its own;
- a quartile is never one merchant's figure: it is the mean of the three order statistics
  around its rank, rounded (sats to two significant figures, rates to two decimals);
- the caller's percentile is rounded to a multiple of 5, and the cohort's size is a band.
"""

from __future__ import annotations

import time
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any, Literal

from sbtc_gateway.analytics import queries
from sbtc_gateway.analytics.models import DAY_SECONDS
from sbtc_gateway.analytics.service import AnalyticsReader
from sbtc_gateway.core.principal import AuthenticatedKey

MIN_COHORT = 10
MAX_SHARE = Fraction(3, 10)
WINDOW = 3
Kind = Literal["sats", "rate"]
METRICS: tuple[tuple[str, Kind], ...] = (
    ("volume_growth", "rate"),
    ("conversion_rate", "rate"),
    ("average_amount", "sats"),
    ("refund_rate", "rate"),
)


def metric_values(f: dict[str, int]) -> dict[str, Fraction | None]:
    return {
        "volume_growth": (
            Fraction(f["gross"] - f["previous_gross"], f["previous_gross"])
            if f["previous_gross"] > 0
            else None
        ),
        "conversion_rate": Fraction(f["converted"], f["created"]) if f["created"] > 0 else None,
        "average_amount": Fraction(f["gross"], f["charges"]) if f["charges"] > 0 else None,
        "refund_rate": Fraction(f["refunds"], f["gross"]) if f["gross"] > 0 else None,
    }


def blurred_quantile(values: list[Fraction], q: float) -> Fraction:
    """The mean of the `WINDOW` order statistics around the nearest rank of `q`."""
    ordered = sorted(values)
    rank = max(1, -(-round(q * 100) * len(ordered) // 100))
    low = min(max(rank - 1 - WINDOW // 2, 0), len(ordered) - WINDOW)
    return sum(ordered[low : low + WINDOW], Fraction(0)) / WINDOW


def shown(value: Fraction, kind: Kind) -> int | str:
    number = Decimal(value.numerator) / Decimal(value.denominator)
    if kind == "rate":
        return str(number.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))
    if number == 0:
        return 0
    digits = number.adjusted() - 1  # keep two significant figures
    return int(number.scaleb(-digits).quantize(Decimal(1), ROUND_HALF_EVEN).scaleb(digits))


def percentile(values: list[Fraction], own: Fraction) -> int:
    below = sum(1 for v in values if v < own)
    equal = sum(1 for v in values if v == own)
    exact = Fraction(200 * below + 100 * equal, 2 * len(values))
    return int(round(exact / 5) * 5)


def size_band(n: int) -> str:
    return "10-24" if n < 25 else "25-99" if n < 100 else "100+"


def day_floor(ts: int) -> int:
    return ts - ts % DAY_SECONDS


async def benchmarks(
    reader: AnalyticsReader, caller: AuthenticatedKey, *, period_days: int, end: int | None
) -> dict[str, Any]:
    end = day_floor(end if end is not None else int(time.time()))
    middle = end - period_days * DAY_SECONDS
    start = middle - period_days * DAY_SECONDS
    async with reader.sessions() as session:
        tier = await queries.merchant_tier(session, caller.merchant_id) or "starter"
        everyone = await queries.tier_figures(session, tier, caller.livemode, start, middle, end)
    own = everyone.pop(caller.merchant_id, None)
    cohort = {m: f for m, f in everyone.items() if f["gross"] > 0}
    head: dict[str, Any] = {
        "object": "analytics.benchmarks",
        "livemode": caller.livemode,
        "tier": tier,
        "period_days": period_days,
        "start": middle,
        "end": end,
    }
    reason = _suppressed(cohort)
    if reason is not None:
        return {**head, "status": "suppressed", "reason": reason, "metrics": None}
    own_values = metric_values(own) if own is not None else dict.fromkeys(dict(METRICS))
    values = [metric_values(f) for f in cohort.values()]
    metrics: dict[str, Any] = {}
    for name, kind in METRICS:
        known = [v[name] for v in values if v[name] is not None]
        mine = own_values[name]
        if len(known) < MIN_COHORT:
            metrics[name] = {"status": "suppressed", "reason": "cohort_too_small"}
            continue
        clean = [k for k in known if k is not None]
        metrics[name] = {
            "status": "ok",
            "merchant": shown(mine, kind) if mine is not None else None,
            "percentile": percentile(clean, mine) if mine is not None else None,
            "p25": shown(blurred_quantile(clean, 0.25), kind),
            "p50": shown(blurred_quantile(clean, 0.50), kind),
            "p75": shown(blurred_quantile(clean, 0.75), kind),
        }
    return {**head, "status": "ok", "cohort_size": size_band(len(cohort)), "metrics": metrics}


def _suppressed(cohort: dict[str, dict[str, int]]) -> str | None:
    if len(cohort) < MIN_COHORT:
        return "cohort_too_small"
    total = sum(f["gross"] for f in cohort.values())
    if any(Fraction(f["gross"], total) > MAX_SHARE for f in cohort.values()):
        return "dominated"
    return None
