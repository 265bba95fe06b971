"""Settlement reports (the seed's processSettlement), computed from payments and refunds.

Per merchant, mode and period (UTC day or month): `gross` (sats received by succeeded payments),
`fees` (the gateway's part of them), `refunds` (refunds that succeeded in the period), `net`
(gross - fees - refunds) and `count` (payments). Ids are `st_` + the period start (a report, not
a stored object: it is the same id every time it is computed).
"""

from __future__ import annotations

import calendar
import csv
import io
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.settlements import repository

Period = Literal["day", "month"]
MAX_PERIODS = 400


@dataclass
class Settlement:
    period: Period
    start: int
    end: int
    livemode: bool
    gross: int = 0
    fees: int = 0
    refunds: int = 0
    count: int = 0

    @property
    def net(self) -> int:
        return self.gross - self.fees - self.refunds

    def render(self) -> dict[str, Any]:
        return {
            "id": f"st_{self.period}_{self.start}",
            "object": "settlement",
            "currency": "sbtc",
            "livemode": self.livemode,
            "period": self.period,
            "period_start": self.start,
            "period_end": self.end,
            "gross": self.gross,
            "fees": self.fees,
            "refunds": self.refunds,
            "net": self.net,
            "count": self.count,
        }


def period_start(ts: int, period: Period) -> int:
    d = datetime.fromtimestamp(ts, UTC)
    if period == "day":
        return calendar.timegm((d.year, d.month, d.day, 0, 0, 0))
    return calendar.timegm((d.year, d.month, 1, 0, 0, 0))


def next_start(start: int, period: Period) -> int:
    if period == "day":
        return start + 86_400
    d = datetime.fromtimestamp(start, UTC)
    year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0))


async def report(
    session: AsyncSession,
    caller: AuthenticatedKey,
    *,
    period: Period,
    start: int | None,
    end: int | None,
) -> list[Settlement]:
    """Settlements of every period in [start, end) that had activity, newest first."""
    now = int(time.time())
    end = end if end is not None else now + 1
    start = start if start is not None else end - 30 * 86_400
    if start >= end:
        raise codes.PARAMETER_INVALID(
            param="created", message="created[gte] must be before created[lt]."
        )
    first = period_start(start, period)
    if (end - first) / 86_400 > MAX_PERIODS * (1 if period == "day" else 31):
        raise codes.PARAMETER_INVALID(
            param="created", message="The range is too long; ask for fewer periods."
        )
    buckets: dict[int, Settlement] = {}

    def bucket(ts: int) -> Settlement:
        key = period_start(ts, period)
        if key not in buckets:
            buckets[key] = Settlement(period, key, next_start(key, period), caller.livemode)
        return buckets[key]

    for at, amount, fee in await repository.succeeded_payments(
        session, caller.merchant_id, caller.livemode, start, end
    ):
        s = bucket(at)
        s.gross += amount
        s.fees += fee
        s.count += 1
    for at, amount in await repository.succeeded_refunds(
        session, caller.merchant_id, caller.livemode, start, end
    ):
        bucket(at).refunds += amount
    return [buckets[k] for k in sorted(buckets, reverse=True)]


CSV_COLUMNS = ["id", "period", "period_start", "period_end", "currency", "livemode",
               "count", "gross", "fees", "refunds", "net"]  # fmt: skip


def to_csv(settlements: list[Settlement]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for s in settlements:
        writer.writerow(s.render())
    return out.getvalue()
