"""What each report type contains: rows read from the ledger and the domain tables of one
merchant and mode in [interval_start, interval_end), as CSV with ISO 8601 dates in the run's
time zone (unix seconds beside them)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from sbtc_gateway.charges.models import Charge
from sbtc_gateway.ledger.models import BalanceTransaction as BT
from sbtc_gateway.payments.models import PaymentIntent as PI
from sbtc_gateway.refunds.models import Refund

PAGE = 5_000


def iso(ts: int | None, tz: ZoneInfo) -> str:
    if ts is None:
        return ""
    text = datetime.fromtimestamp(ts, tz).isoformat()
    return text.replace("+00:00", "Z") if str(tz) == "UTC" else text


def _pages(session: Session, query: Any, id_column: Any) -> Iterator[Any]:
    after = None
    while True:
        q = query if after is None else query.where(id_column > after)
        rows = session.execute(q.order_by(id_column).limit(PAGE)).all()
        yield from rows
        if len(rows) < PAGE:
            return
        after = rows[-1][0]


def payments(
    session: Session, m: str, live: bool, start: int, end: int, tz: ZoneInfo
) -> Iterator[list[Any]]:
    query = select(
        PI.id, PI.created, PI.status, PI.amount, PI.amount_received, PI.application_fee_amount,
        PI.amount_refunded, PI.payer, PI.txid, PI.block_height, PI.succeeded_at, PI.canceled_at,
        PI.cancellation_reason, PI.description,
    ).where(
        PI.merchant_id == m, PI.livemode == live, PI.created >= start, PI.created < end
    )  # fmt: skip
    for r in _pages(session, query, PI.id):
        yield [r[0], iso(r[1], tz), r[1], *r[2:10], iso(r[10], tz), iso(r[11], tz), r[12], r[13]]


def refunds(
    session: Session, m: str, live: bool, start: int, end: int, tz: ZoneInfo
) -> Iterator[list[Any]]:
    query = select(
        Refund.id, Refund.created, Refund.status, Refund.amount, Refund.charge_id,
        Refund.payment_intent_id, Refund.reason, Refund.txid, Refund.destination,
        Refund.failure_reason,
    ).where(
        Refund.merchant_id == m, Refund.livemode == live, Refund.created >= start,
        Refund.created < end,
    )  # fmt: skip
    for r in _pages(session, query, Refund.id):
        yield [r[0], iso(r[1], tz), r[1], *r[2:]]


def _ledger(m: str, live: bool, start: int, end: int) -> Any:
    return (BT.merchant_id == m, BT.livemode == live, BT.account == "merchant",
            BT.created >= start, BT.created < end)  # fmt: skip


def balance(
    session: Session, m: str, live: bool, start: int, end: int, tz: ZoneInfo
) -> Iterator[list[Any]]:
    query = select(
        BT.id, BT.created, BT.available_on, BT.type, BT.reporting_category, BT.amount, BT.fee,
        BT.net, BT.currency, BT.source_id, BT.description,
    ).where(*_ledger(m, live, start, end))  # fmt: skip
    for r in _pages(session, query, BT.id):
        yield [r[0], iso(r[1], tz), r[1], iso(r[2], tz), *r[3:]]


def payout_reconciliation(
    session: Session, m: str, live: bool, start: int, end: int, tz: ZoneInfo
) -> Iterator[list[Any]]:
    """Each movement with the on-chain transaction that carried it, for the merchant's wallet."""
    query = (
        select(
            BT.id, BT.created, BT.type, BT.amount, BT.fee, BT.net, BT.source_id,
            Charge.payment_intent_id, Refund.payment_intent_id, Charge.txid, Refund.txid,
            Charge.block_height, BT.principal, BT.network,
        )
        .outerjoin(Charge, Charge.id == BT.source_id)
        .outerjoin(Refund, Refund.id == BT.source_id)
        .where(*_ledger(m, live, start, end))
    )  # fmt: skip
    for r in _pages(session, query, BT.id):
        yield [r[0], iso(r[1], tz), r[1], r[2], r[3], r[4], r[5], r[6], r[7] or r[8],
               r[9] or r[10], r[11], r[12], r[13]]  # fmt: skip


def settlements(
    session: Session, m: str, live: bool, start: int, end: int, tz: ZoneInfo
) -> Iterator[list[Any]]:
    """One line per day of the run's time zone: the settlement of that day's ledger rows."""
    days: dict[str, list[int]] = {}
    query = select(BT.id, BT.created, BT.type, BT.amount, BT.fee, BT.net).where(
        *_ledger(m, live, start, end)
    )
    for _, created, type_, amount, fee, net in _pages(session, query, BT.id):
        day = datetime.fromtimestamp(created, tz).strftime("%Y-%m-%d")
        d = days.setdefault(
            day, [0, 0, 0, 0, 0, 0, 0]
        )  # count gross fees refunds reversals adj net
        d[6] += net
        if type_ == "charge":
            d[0] += 1
            d[1] += amount
            d[2] += fee
        elif type_ == "payment_reversal":
            d[4] -= amount
            d[2] += fee
        elif type_ in ("refund", "refund_failure"):
            d[3] -= amount
        else:
            d[5] += amount
    for day in sorted(days):
        yield [day, "sbtc", *days[day]]


Generator = Callable[[Session, str, bool, int, int, ZoneInfo], Iterator[list[Any]]]
REPORT_TYPES: dict[str, tuple[str, Sequence[str], Generator]] = {
    "payments.itemized.1": (
        "Payments",
        ["payment_intent_id", "created", "created_unix", "status", "amount", "amount_received",
         "fee", "amount_refunded", "payer", "txid", "block_height", "succeeded_at", "canceled_at",
         "cancellation_reason", "description"],
        payments,
    ),
    "refunds.itemized.1": (
        "Refunds",
        ["refund_id", "created", "created_unix", "status", "amount", "charge_id",
         "payment_intent_id", "reason", "txid", "destination", "failure_reason"],
        refunds,
    ),
    "balance_change_from_activity.itemized.1": (
        "Balance change from activity",
        ["balance_transaction_id", "created", "created_unix", "available_on", "type",
         "reporting_category", "amount", "fee", "net", "currency", "source_id", "description"],
        balance,
    ),
    "settlements.summary.1": (
        "Settlements per day",
        ["date", "currency", "count", "gross", "fees", "refunds", "reversals", "adjustments",
         "net"],
        settlements,
    ),
    "payout_reconciliation.itemized.1": (
        "Payout reconciliation",
        ["balance_transaction_id", "created", "created_unix", "type", "amount", "fee", "net",
         "source_id", "payment_intent_id", "txid", "block_height", "payout_address", "network"],
        payout_reconciliation,
    ),
}  # fmt: skip


def csv_chunks(header: Sequence[str], rows: Iterator[list[Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for i, row in enumerate(rows, 1):
        writer.writerow(["" if v is None else v for v in row])
        if i % 1000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
