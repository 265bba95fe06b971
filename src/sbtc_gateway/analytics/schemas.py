"""Query parameters of the analytics endpoints."""

from __future__ import annotations

from typing import Annotated

from sbtc_gateway.analytics.periods import Interval
from sbtc_gateway.analytics.service import Metric
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.params import OptInt, OptTimestamp, Params, StrList, Text

TimeZone = Annotated[str | None, Text(64)]


class RangeParams(Params):
    start: OptTimestamp = None
    end: OptTimestamp = None
    expand: StrList = []


class TimeseriesParams(RangeParams):
    metric: Metric
    interval: Interval = "day"
    timezone: TimeZone = None


class RealtimeParams(Params):
    expand: StrList = []


class ProjectionsParams(Params):
    horizon_days: OptInt = None
    timezone: TimeZone = None
    expand: StrList = []


class CustomersParams(RangeParams):
    timezone: TimeZone = None
    limit: OptInt = None


class BenchmarksParams(Params):
    period_days: OptInt = None
    end: OptTimestamp = None
    expand: StrList = []


def one_of(value: int | None, allowed: tuple[int, ...], param: str) -> int:
    if value is None:
        return allowed[0]
    if value not in allowed:
        choices = " or ".join(str(a) for a in allowed)
        raise codes.PARAMETER_INVALID(param=param, message=f"Invalid {param}: use {choices}.")
    return value


def top_limit(value: int | None) -> int:
    if value is None:
        return 10
    if not 1 <= value <= 100:
        raise codes.PARAMETER_INVALID_INTEGER(
            param="limit", message="Invalid limit: must be between 1 and 100."
        )
    return value
