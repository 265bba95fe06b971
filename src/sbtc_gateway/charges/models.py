from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base, now


class Charge(Base):
    """One payment transaction the watcher saw for an intent (unique per network and txid).

    `status`: `pending` (in the mempool, or waiting for confirmations), `succeeded`, `failed`
    (aborted, dropped, or lost for good after a reorg: `failure_code`). `reorged_at` is the tip
    height at which the block holding a succeeded charge was rolled back, while it waits to be
    mined again (ADR 0011); `late` marks money received for a canceled intent.
    """

    __tablename__ = "charges"
    __table_args__ = (
        UniqueConstraint("network", "txid", name="uq_charges_network_txid"),
        Index("ix_charges_scope_id", "merchant_id", "livemode", "id"),
        Index("ix_charges_intent", "payment_intent_id"),
        Index("ix_charges_reorged", "network", "reorged_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool]
    payment_intent_id: Mapped[str] = mapped_column(ForeignKey("payment_intents.id"))
    amount: Mapped[int]
    application_fee_amount: Mapped[int] = mapped_column(default=0)
    amount_captured: Mapped[int] = mapped_column(default=0)
    amount_refunded: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(8), default="sbtc")
    status: Mapped[str] = mapped_column(String(16))
    failure_code: Mapped[str | None] = mapped_column(String(64), default=None)
    failure_message: Mapped[str | None] = mapped_column(Text, default=None)
    network: Mapped[str] = mapped_column(String(16))
    txid: Mapped[str] = mapped_column(String(66))
    payer: Mapped[str | None] = mapped_column(String(64), default=None)
    recipient: Mapped[str] = mapped_column(String(64))
    block_height: Mapped[int | None] = mapped_column(default=None)
    block_hash: Mapped[str | None] = mapped_column(String(66), default=None)
    reorged_at: Mapped[int | None] = mapped_column(default=None)
    late: Mapped[bool] = mapped_column(default=False)
    balance_transaction_id: Mapped[str | None] = mapped_column(String(36), default=None)
    failure_balance_transaction_id: Mapped[str | None] = mapped_column(String(36), default=None)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    created: Mapped[int] = mapped_column(default=now)
    updated: Mapped[int] = mapped_column(default=now, onupdate=now)
