"""Receipt e-mails: which succeeded payments get one, claiming them, recording the outcome.

The worker reads `payment_intent.succeeded` events (the outbox) — never the request that
happened to complete a payment — so a crash between the payment and the mail loses nothing:
the event is there until a receipt row says what became of it. Rows are claimed with a lease
in one short transaction; the mail is sent after it commits (no network call inside a
transaction); the outcome is written in another. A worker that dies after sending and
before recording lets the lease run out, and the mail can go out twice: at least once, as
for webhooks. Takes a session, never commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.core.money import format_btc
from sbtc_gateway.merchants import repository as merchants
from sbtc_gateway.receipts import repository
from sbtc_gateway.receipts.models import ReceiptEmail

# Events older than this when first seen get no receipt: a gateway upgraded, or a worker
# started after a long stop, does not mail customers about yesterday's payments.
WINDOW_SECONDS = 3600
LEASE_SECONDS = 120
MAX_ATTEMPTS = 8
BATCH = 50


@dataclass(frozen=True, slots=True)
class Claimed:
    event_id: str
    intent_id: str
    to: str
    merchant_name: str
    intent: dict[str, Any]


async def scan(session: AsyncSession, *, now: int) -> int:
    """A receipt row for each new succeeded event: `pending` with an address, else `skipped`."""
    count = 0
    for event in await repository.unseen_events(session, now - WINDOW_SECONDS, BATCH):
        obj = (event.data or {}).get("object") or {}
        to = obj.get("receipt_email")
        session.add(
            ReceiptEmail(
                event_id=event.id,
                intent_id=event.object_id,
                merchant_id=event.merchant_id,
                status="pending" if to else "skipped",
                attempts=0,
                next_attempt_at=now,
                created=now,
            )
        )
        count += 1 if to else 0
    await session.flush()
    return count


async def claim(session: AsyncSession, *, now: int) -> list[Claimed]:
    claimed = []
    for row, event in await repository.claim_due(session, now, BATCH):
        row.lease_until = now + LEASE_SECONDS
        row.attempts += 1
        obj = (event.data or {}).get("object") or {}
        merchant = await merchants.get(session, row.merchant_id)
        claimed.append(
            Claimed(
                event_id=row.event_id,
                intent_id=row.intent_id,
                to=str(obj.get("receipt_email")),
                merchant_name=merchant.business_name if merchant else "",
                intent=obj,
            )
        )
    await session.flush()
    return claimed


def message(claimed: Claimed, *, sender: str, receipt_url: Callable[[str], str]) -> EmailMessage:
    obj = claimed.intent
    amount = int(obj.get("amount_received") or obj.get("amount") or 0)
    sbtc = obj.get("sbtc") or {}
    lines = [
        f"Thank you: {claimed.merchant_name} has received your payment.",
        "",
        f"Amount paid: {format_btc(amount)} sBTC ({amount:,} sats)",
    ]
    if obj.get("description"):
        lines.append(f"For: {obj['description']}")
    if sbtc.get("txid"):
        lines.append(f"Transaction: 0x{str(sbtc['txid']).removeprefix('0x')}")
    if sbtc.get("payer"):
        lines.append(f"Paid from: {sbtc['payer']}")
    lines += [f"Reference: {claimed.intent_id}", "", f"Receipt: {receipt_url(claimed.intent_id)}"]
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = claimed.to
    mail["Subject"] = f"Your receipt from {claimed.merchant_name}"
    mail.set_content("\n".join(lines) + "\n")
    return mail


async def record(session: AsyncSession, event_id: str, error: str | None, *, now: int) -> None:
    row = await repository.get(session, event_id)
    if row is None:
        return
    row.lease_until = None
    if error is None:
        row.status, row.sent_at, row.last_error = "sent", now, None
    elif row.attempts >= MAX_ATTEMPTS:
        row.status, row.last_error = "failed", error
    else:
        row.last_error = error
        row.next_attempt_at = now + min(3600, 30 * 2 ** (row.attempts - 1))
    await session.flush()
