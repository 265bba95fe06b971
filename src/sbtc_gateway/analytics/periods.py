"""Time ranges on the quarter-hour grid, local calendar buckets, and rates as strings."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sbtc_gateway.analytics.models import BUCKET_SECONDS, DAY_SECONDS
from sbtc_gateway.core import error_codes as codes

Interval = Literal["day", "week", "month"]
DEFAULT_DAYS = 30
MAX_BUCKETS = 400
MAX_RANGE_SECONDS = 5 * 366 * DAY_SECONDS
RATE_PLACES = Decimal("0.0001")


def zone(name: str | None) -> ZoneInfo:
    """An IANA time zone (`UTC` when none is given), or 400 naming `timezone`."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise codes.PARAMETER_INVALID(
            param="timezone",
            message=f"Invalid timezone: {name!r} is not an IANA time zone (e.g. Europe/Paris).",
        ) from None


def floor_q(ts: int) -> int:
    return ts - ts % BUCKET_SECONDS


def ceil_q(ts: int) -> int:
    return -(-ts // BUCKET_SECONDS) * BUCKET_SECONDS


def window(start: int | None, end: int | None, *, days: int = DEFAULT_DAYS) -> tuple[int, int]:
    """[start, end) on the quarter-hour grid: `end` defaults to now, `start` to `days` before.
    Bounds are floored (start) and ceiled (end) to a quarter hour; responses echo them."""
    end = ceil_q(end if end is not None else int(time.time()) + 1)
    start = floor_q(start if start is not None else end - days * DAY_SECONDS)
    if start >= end:
        raise codes.PARAMETER_INVALID(param="start", message="start must be before end.")
    if end - start > MAX_RANGE_SECONDS:
        raise codes.PARAMETER_INVALID(
            param="start", message="The range is too long: at most five years."
        )
    return start, end


def _local_floor(ts: int, tz: ZoneInfo, interval: Interval) -> datetime:
    d = datetime.fromtimestamp(ts, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "week":
        d -= timedelta(days=d.weekday())  # ISO weeks start on Monday
    elif interval == "month":
        d = d.replace(day=1)
    return d


def _next(d: datetime, interval: Interval) -> datetime:
    if interval == "day":
        naive = d.replace(tzinfo=None) + timedelta(days=1)
    elif interval == "week":
        naive = d.replace(tzinfo=None) + timedelta(days=7)
    else:
        year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
        naive = d.replace(tzinfo=None, year=year, month=month, day=1)
    return naive.replace(tzinfo=d.tzinfo)  # local midnight: DST days are 23 or 25 hours


def boundaries(start: int, end: int, tz: ZoneInfo, interval: Interval) -> list[int]:
    """Local calendar bucket edges covering [start, end): the first edge is at or before
    `start`, the last at or after `end` (unix seconds, on the quarter-hour grid)."""
    edges: list[int] = []
    d = _local_floor(start, tz, interval)
    while True:
        edge = floor_q(int(d.timestamp()))
        edges.append(edge)
        if edge >= end:
            return edges
        if len(edges) > MAX_BUCKETS:
            raise codes.PARAMETER_INVALID(
                param="interval",
                message=f"Too many buckets: at most {MAX_BUCKETS}; use a longer interval.",
            )
        d = _next(d, interval)


def ratio(numerator: int, denominator: int) -> str:
    """A rate as a decimal string with four places ("0.0000" when there is nothing to rate)."""
    if denominator == 0:
        return "0.0000"
    value = Decimal(numerator) / Decimal(denominator)
    return str(value.quantize(RATE_PLACES, rounding=ROUND_HALF_EVEN))


def iso_day(ts: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d")
