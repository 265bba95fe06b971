from __future__ import annotations

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base


class ReceiptEmail(Base):
    """One row per `payment_intent.succeeded` event the worker has looked at: `pending` until
    the mail is accepted by the SMTP server (`sent`), `skipped` when the intent has no
    `receipt_email`, `failed` after the last attempt. Keyed by the event: never sent twice
    for one event, whatever the number of workers."""

    __tablename__ = "receipt_emails"
    __table_args__ = (Index("ix_receipt_emails_due", "status", "next_attempt_at"),)

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    intent_id: Mapped[str] = mapped_column(String(36))
    merchant_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, default=None)
    next_attempt_at: Mapped[int] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    sent_at: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created: Mapped[int] = mapped_column(BigInteger)
