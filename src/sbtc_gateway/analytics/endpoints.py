"""`/v1/analytics/*`: thin — authorize (`analytics:read`), parse, read, render."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from sbtc_gateway.analytics import benchmarks, customers, projections, service
from sbtc_gateway.analytics.schemas import (
    BenchmarksParams,
    CustomersParams,
    ProjectionsParams,
    RangeParams,
    RealtimeParams,
    TimeseriesParams,
    one_of,
    top_limit,
)
from sbtc_gateway.analytics.service import AnalyticsReader
from sbtc_gateway.api import openapi
from sbtc_gateway.api.auth import authorize
from sbtc_gateway.api.deps import gateway, parse
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.api.routing import checked_routes

router = APIRouter(prefix="/v1/analytics", tags=["Analytics"], route_class=checked_routes())
PERMISSION = "analytics:read"
for name, fields in {
    "AnalyticsSummary": ["object", "livemode", "currency", "start", "end", "gross_volume",
                         "net_volume", "fees", "refunds", "reversals", "charges", "created",
                         "succeeded", "failed", "canceled", "expired", "average_amount",
                         "conversion_rate", "previous_period"],
    "AnalyticsTimeseries": ["object", "livemode", "metric", "interval", "timezone", "start",
                            "end", "data"],
    "AnalyticsConversion": ["object", "livemode", "start", "end", "steps", "conversion_rate",
                            "abandonment", "time_to_pay"],
    "AnalyticsRealtime": ["object", "livemode", "generated_at", "windows"],
    "AnalyticsProjections": ["object", "livemode", "timezone", "horizon_days", "metric",
                             "minimum_history_days", "status", "history_days", "data",
                             "backtest"],
    "AnalyticsCustomers": ["object", "livemode", "timezone", "start", "end", "payers", "new",
                           "returning", "repeat_rate", "top_payers", "cohorts", "lifetime"],
    "AnalyticsBenchmarks": ["object", "livemode", "tier", "period_days", "start", "end",
                            "status", "metrics"],
}.items():  # fmt: skip
    openapi.describe(name, fields)


def _reader(request: Request) -> AnalyticsReader:
    return gateway(request).get(AnalyticsReader)


@router.get(
    "/summary",
    summary="Volume, fees, refunds, counts, average amount and conversion of a period, and of "
    "the period of equal length before it",
    openapi_extra=openapi.query(RangeParams),
    responses=openapi.responds("AnalyticsSummary", "The period's figures"),
)
async def summary(request: Request) -> Response:
    caller = await authorize(request, gateway(request), PERMISSION)
    params, _ = await parse(request, RangeParams)
    body = await service.summary(_reader(request), caller, params.start, params.end)
    return json_response(body)


@router.get(
    "/timeseries",
    summary="A metric per day, week or month in a time zone (empty buckets are 0)",
    openapi_extra=openapi.query(TimeseriesParams),
    responses=openapi.responds("AnalyticsTimeseries", "One value per bucket"),
)
async def timeseries(request: Request) -> Response:
    caller = await authorize(request, gateway(request), PERMISSION)
    params, _ = await parse(request, TimeseriesParams)
    body = await service.timeseries(
        _reader(request),
        caller,
        metric=params.metric,
        interval=params.interval,
        start=params.start,
        end=params.end,
        timezone=params.timezone,
    )
    return json_response(body)


@router.get(
    "/conversion",
    summary="The funnel of the payments created in a period, abandonment and time to pay",
    openapi_extra=openapi.query(RangeParams),
    responses=openapi.responds("AnalyticsConversion", "The funnel"),
)
async def conversion(request: Request) -> Response:
    caller = await authorize(request, gateway(request), PERMISSION)
    params, _ = await parse(request, RangeParams)
    body = await service.conversion(_reader(request), caller, params.start, params.end)
    return json_response(body)


@router.get(
    "/realtime",
    summary="The last 5 and 60 minutes: payments per minute, volume, success rate, "
    "confirmation time",
    openapi_extra=openapi.query(RealtimeParams),
    responses=openapi.responds("AnalyticsRealtime", "The realtime windows"),
)
async def realtime(request: Request) -> Response:
    caller = await authorize(request, gateway(request), PERMISSION)
    await parse(request, RealtimeParams)
    return json_response(await service.realtime(_reader(request), caller))


@router.get(
    "/projections",
    summary="A daily revenue forecast (ETS, weekly seasonality) with 80 % and 95 % intervals "
    "and its backtest error",
    openapi_extra=openapi.query(ProjectionsParams),
    responses=openapi.responds("AnalyticsProjections", "The forecast, or insufficient_data"),
)
async def projections_(request: Request) -> Response:
    caller = await authorize(request, gateway(request), PERMISSION)
    params, _ = await parse(request, ProjectionsParams)
    horizon = one_of(params.horizon_days, (30, 90), "horizon_days")
    body = await projections.projections(
        _reader(request), caller, horizon=horizon, timezone=params.timezone
    )
    return json_response(body)


@router.get(
    "/customers",
    summary="Payers: new and returning, repeat rate, top payers, cohort retention, lifetime value",
    openapi_extra=openapi.query(CustomersParams),
    responses=openapi.responds("AnalyticsCustomers", "The payers"),
)
async def customers_(request: Request) -> Response:
    caller = await authorize(request, gateway(request), PERMISSION)
    params, _ = await parse(request, CustomersParams)
    body = await customers.customers(
        _reader(request),
        caller,
        start=params.start,
        end=params.end,
        timezone=params.timezone,
        limit=top_limit(params.limit),
    )
    return json_response(body)


@router.get(
    "/benchmarks",
    summary="Where the account stands among accounts of its tier (or `suppressed`)",
    openapi_extra=openapi.query(BenchmarksParams),
    responses=openapi.responds("AnalyticsBenchmarks", "Percentiles and quartiles"),
)
async def benchmarks_(request: Request) -> Response:
    caller = await authorize(request, gateway(request), PERMISSION)
    params, _ = await parse(request, BenchmarksParams)
    period = one_of(params.period_days, (30, 90), "period_days")
    body = await benchmarks.benchmarks(_reader(request), caller, period_days=period, end=params.end)
    return json_response(body)
