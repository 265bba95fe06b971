"""`/v1/analytics/projections`: the daily revenue forecast (`forecast.py`) on the merchant's
history of gross volume per local day, with its backtest; `insufficient_data` (and how many
days are needed) below the minimum history — never a made-up line."""

from __future__ import annotations

import asyncio
import bisect
import time
from datetime import datetime
from typing import Any

import orjson

from sbtc_gateway.analytics import forecast, periods, queries
from sbtc_gateway.analytics.models import DAY_SECONDS
from sbtc_gateway.analytics.service import AnalyticsReader
from sbtc_gateway.core.principal import AuthenticatedKey

MAX_HISTORY_DAYS = 730
CACHE_SECONDS = 3600.0  # a fit costs CPU; the history only gains a day a day


def daily_series(rows: list[tuple[int, dict[str, int]]], edges: list[int]) -> list[float]:
    out = [0.0] * (len(edges) - 1)
    for bucket, figures in rows:
        i = bisect.bisect_right(edges, bucket) - 1
        if 0 <= i < len(out):
            out[i] += figures["gross"]
    return out


def _local_midnight(ts: int, tz: Any) -> int:
    d = datetime.fromtimestamp(ts, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    return periods.floor_q(int(d.timestamp()))


async def projections(
    reader: AnalyticsReader,
    caller: AuthenticatedKey,
    *,
    horizon: int,
    timezone: str | None,
    now: int | None = None,
) -> dict[str, Any]:
    tz = periods.zone(timezone)
    today = _local_midnight(now if now is not None else int(time.time()), tz)
    head = {
        "object": "analytics.projections",
        "livemode": caller.livemode,
        "timezone": str(tz.key),
        "horizon_days": horizon,
        "metric": "gross_volume",
        "minimum_history_days": forecast.minimum_history(horizon),
    }
    key = f"{caller.merchant_id}:{caller.livemode}:{horizon}:{tz.key}:{today}"
    cached = await reader.projection_cache.get(key, key)
    if cached.value is not None:
        return {**head, **orjson.loads(cached.value)}
    async with reader.sessions() as session:
        first = await queries.first_activity(session, caller.merchant_id, caller.livemode)
        start = _local_midnight(first, tz) if first is not None else today
        start = max(start, today - MAX_HISTORY_DAYS * DAY_SECONDS)
        edges = periods.boundaries(start, today, tz, "day") if start < today else [today]
        rows = await queries.intervals(session, caller.merchant_id, caller.livemode, start, today)
    history = daily_series(rows, edges)
    if len(history) < forecast.minimum_history(horizon):
        body: dict[str, Any] = {"status": "insufficient_data", "history_days": len(history)}
        body["message"] = (
            f"A {horizon}-day forecast needs {forecast.minimum_history(horizon)} days of "
            f"history; this account has {len(history)}."
        )
        body.update(data=[], backtest=None)
    else:
        body = await asyncio.to_thread(_compute, history, horizon, today, tz)
    await reader.projection_cache.set(key, cached.stamp, orjson.dumps(body), CACHE_SECONDS)
    return {**head, **body}


def _compute(history: list[float], horizon: int, today: int, tz: Any) -> dict[str, Any]:
    fit = forecast.fit_and_forecast(history, horizon)
    test = forecast.backtest(history, horizon)
    future = periods.boundaries(today, today + horizon * DAY_SECONDS - 1, tz, "day")[:horizon]
    data = [
        {
            "date": periods.iso_day(day, tz),
            "start": day,
            "forecast": forecast.sats(fit.mean[i]),
            "lower_80": forecast.sats(fit.lower_80[i]),
            "upper_80": forecast.sats(fit.upper_80[i]),
            "lower_95": forecast.sats(fit.lower_95[i]),
            "upper_95": forecast.sats(fit.upper_95[i]),
        }
        for i, day in enumerate(future)
    ]
    return {
        "status": "ok",
        "history_days": len(history),
        "model": {
            "name": "ets",
            "error": "additive",
            "trend": "additive_damped",
            "seasonal": "additive",
            "seasonal_periods": forecast.SEASON,
        },
        "data": data,
        "backtest": {
            "horizon_days": test.days,
            "mape": test.mape,
            "coverage_95": test.coverage_95,
        },
    }
