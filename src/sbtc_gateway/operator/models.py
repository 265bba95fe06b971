"""Operator tables: the calls the operator account sends, and its nonce counter per network."""

from __future__ import annotations

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base, now


class OperatorCall(Base):
    """One contract call by the operator account, from `queued` to `confirmed` or `failed`
    (operator/state.py). At most one per (network, function, intent)."""

    __tablename__ = "operator_calls"
    __table_args__ = (
        UniqueConstraint("network", "function", "intent_id", name="uq_operator_calls_call"),
        Index("ix_operator_calls_due", "network", "status", "lease_until"),
        Index("ix_operator_calls_txid", "txid"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    network: Mapped[str] = mapped_column(String(16))
    function: Mapped[str] = mapped_column(String(40))
    intent_id: Mapped[str] = mapped_column(String(36))
    contract_id: Mapped[str] = mapped_column(String(170))
    # Sats the call moves out of the contract (distribute-fees: the fee, its post-condition).
    amount: Mapped[int | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16))
    # Set when signed, and stored before the broadcast: re-sending these bytes is always safe.
    sender: Mapped[str | None] = mapped_column(String(64), default=None)
    nonce: Mapped[int | None] = mapped_column(default=None)
    fee: Mapped[int | None] = mapped_column(default=None)  # micro-STX
    raw_tx: Mapped[str | None] = mapped_column(Text, default=None)  # hex
    txid: Mapped[str | None] = mapped_column(String(66), default=None)
    # Who works on the call until when; also "not before" for a queued or broadcast call.
    lease_until: Mapped[int | None] = mapped_column(default=None)
    leased_by: Mapped[str | None] = mapped_column(String(64), default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created: Mapped[int] = mapped_column(default=now)
    updated: Mapped[int] = mapped_column(default=now, onupdate=now)
    broadcast_at: Mapped[int | None] = mapped_column(default=None)
    completed_at: Mapped[int | None] = mapped_column(default=None)


class OperatorNonce(Base):
    """The next nonce the database hands out for one sender on one network. Locked while a
    nonce is taken, so two workers never take the same one; the chain's view is read before."""

    __tablename__ = "operator_nonces"

    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    sender: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_nonce: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=now, onupdate=now)
