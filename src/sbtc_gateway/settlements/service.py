"""Settlement reports (the seed's processSettlement), computed from the ledger (ADR 0010).

Per merchant, mode and period (UTC day or month), from the balance transactions created in it:
`gross` (charges), `fees` (the gateway's part, less the fees of reversed payments), `refunds`
(refunds less refunds that failed after all), `reversals` (payments lost for good after a
reorg), `adjustments`, `net` (the sum of every row's net) and `count` (charges). The ledger is
append-only, so a closed period never changes: a late reversal lands in the period it happened
in. Ids are `st_` + the period and its start (a report, not a stored object).
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
from sbtc_gateway.ledger import repository as ledger

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
    reversals: int = 0
    adjustments: int = 0
    net: int = 0
    count: int = 0

    def add(self, type_: str, amount: int, fee: int, net: int) -> None:
        self.net += net
        if type_ == "charge":
            self.gross += amount
            self.fees += fee
            self.count += 1
        elif type_ == "payment_reversal":
            self.reversals -= amount
            self.fees += fee
        elif type_ in ("refund", "refund_failure"):
            self.refunds -= amount
        else:
            self.adjustments += amount

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
            "reversals": self.reversals,
            "adjustments": self.adjustments,
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

    rows = await ledger.rows_between(session, caller.merchant_id, caller.livemode, start, end)
    for created, type_, amount, fee, net in rows:
        bucket(created).add(type_, amount, fee, net)
    return [buckets[k] for k in sorted(buckets, reverse=True)]


CSV_COLUMNS = ["id", "period", "period_start", "period_start_date", "period_end",
               "period_end_date", "currency", "livemode", "count", "gross", "fees", "refunds",
               "reversals", "adjustments", "net"]  # fmt: skip


def iso_date(ts: int) -> str:
    """ISO 8601 in UTC (`2026-12-01T00:00:00Z`), for spreadsheets beside the unix seconds."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_csv(settlements: list[Settlement]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for s in settlements:
        row: dict[str, Any] = s.render()
        row["period_start_date"] = iso_date(s.start)
        row["period_end_date"] = iso_date(s.end)
        row["livemode"] = "true" if s.livemode else "false"
        writer.writerow(row)
    return out.getvalue()
