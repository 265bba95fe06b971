from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base, now


class Refund(Base):
    __tablename__ = "refunds"
    __table_args__ = (
        Index("ix_refunds_scope_id", "merchant_id", "livemode", "id"),
        Index("ix_refunds_intent", "payment_intent_id"),
        Index("ix_refunds_charge", "charge_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool]
    payment_intent_id: Mapped[str] = mapped_column(ForeignKey("payment_intents.id"))
    charge_id: Mapped[str | None] = mapped_column(ForeignKey("charges.id"), default=None)
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(8), default="sbtc")
    # requires_action (the merchant's wallet must sign) → succeeded | failed; a succeeded refund
    # whose block is rolled back is `pending` until it is mined again (ADR 0011); canceled
    status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(String(32), default=None)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    next_action: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    txid: Mapped[str | None] = mapped_column(String(66), default=None)
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # who gets the money back (the charge's payer), and the ledger rows of the refund
    destination: Mapped[str | None] = mapped_column(String(64), default=None)
    balance_transaction_id: Mapped[str | None] = mapped_column(String(36), default=None)
    failure_balance_transaction_id: Mapped[str | None] = mapped_column(String(36), default=None)
    reorged_at: Mapped[int | None] = mapped_column(default=None)
    created: Mapped[int] = mapped_column(default=now)
    updated: Mapped[int] = mapped_column(default=now, onupdate=now)
