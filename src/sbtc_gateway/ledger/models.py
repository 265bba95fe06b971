"""`balance_transactions`: one row per movement of money, never updated or deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base, now


class BalanceTransaction(Base):
    """A movement of money of one merchant and mode, as Stripe's BalanceTransaction.

    `account` is `merchant` (what the merchant's API lists) or `platform` (the gateway's fee,
    held by the contract until it is distributed). `sequence` numbers repeated movements of the
    same kind for the same source (a refund that succeeds again after it failed), so the unique
    key rejects recording one movement twice. `principal` is the Stacks address the money went
    to or came from, for reconciliation with the contract's per-merchant totals.
    """

    __tablename__ = "balance_transactions"
    __table_args__ = (
        UniqueConstraint(
            "account", "type", "source_id", "sequence", name="uq_balance_transactions_entry"
        ),
        Index("ix_balance_transactions_scope_id", "merchant_id", "livemode", "account", "id"),
        Index("ix_balance_transactions_source", "source_id"),
        # time windows of one merchant's account (settlements, analytics rollups)
        Index(
            "ix_balance_transactions_scope_created", "merchant_id", "livemode", "account", "created"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool]
    account: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(32))
    reporting_category: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int]
    fee: Mapped[int] = mapped_column(default=0)
    net: Mapped[int]
    fee_details: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
    currency: Mapped[str] = mapped_column(String(8), default="sbtc")
    source_id: Mapped[str] = mapped_column(String(36))
    sequence: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="available")
    available_on: Mapped[int]
    principal: Mapped[str | None] = mapped_column(String(64), default=None)
    network: Mapped[str | None] = mapped_column(String(16), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    created: Mapped[int] = mapped_column(default=now)
