from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base, now


class PaymentIntent(Base):
    __tablename__ = "payment_intents"
    __table_args__ = (
        Index("ix_payment_intents_scope_id", "merchant_id", "livemode", "id"),
        Index("ix_payment_intents_status_expires", "status", "expires_at"),
        Index("ix_payment_intents_txid", "txid"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool]
    amount: Mapped[int]
    amount_received: Mapped[int] = mapped_column(default=0)
    application_fee_amount: Mapped[int]
    fee_basis_points: Mapped[int]
    currency: Mapped[str] = mapped_column(String(8), default="sbtc")
    status: Mapped[str] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    receipt_email: Mapped[str | None] = mapped_column(String(255), default=None)
    payer: Mapped[str | None] = mapped_column(String(64), default=None)
    payout_address: Mapped[str] = mapped_column(String(64))
    return_url: Mapped[str | None] = mapped_column(Text, default=None)
    next_action: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    last_payment_error: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    cancellation_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    canceled_at: Mapped[int | None] = mapped_column(default=None)
    txid: Mapped[str | None] = mapped_column(String(66), default=None)
    # On chain (revision 0003): the signed expiry height, and the block the payment is in.
    expires_at_block: Mapped[int | None] = mapped_column(default=None)
    block_height: Mapped[int | None] = mapped_column(default=None)
    block_hash: Mapped[str | None] = mapped_column(String(66), default=None)
    succeeded_at: Mapped[int | None] = mapped_column(default=None)
    # The newest charge (ADR 0010), how much of the payment was refunded, and money received
    # after the intent was canceled (ADR 0011: charge, amount, payer, txid, refund owed).
    latest_charge_id: Mapped[str | None] = mapped_column(String(36), default=None)
    amount_refunded: Mapped[int] = mapped_column(default=0, server_default="0")
    late_payment: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # The gateway fee's way out of the contract (`distribute-fees`): null (not yet), pending,
    # distributed, failed; and the transaction that carries it.
    fee_status: Mapped[str | None] = mapped_column(String(16), default=None)
    fee_txid: Mapped[str | None] = mapped_column(String(66), default=None)
    # The contract deployment the terms are signed for (revision 0007c): where it pays, is
    # refunded and its fee is held. Null: confirmed before, on the network's first contract.
    contract_id: Mapped[str | None] = mapped_column(String(170), default=None)
    expires_at: Mapped[int]
    created: Mapped[int] = mapped_column(default=now)
    updated: Mapped[int] = mapped_column(default=now, onupdate=now)
    # Optimistic concurrency on top of the row locks: SQLAlchemy adds `WHERE version = :seen`
    # to every UPDATE and bumps it, so a change made from a stale copy (a path that forgot to
    # lock) fails with StaleDataError instead of overwriting another transition.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}
