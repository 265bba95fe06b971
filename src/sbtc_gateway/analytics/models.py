"""The analytics tables: derived from events and the ledger, rebuilt from them at will.

Every row here is a pure function of the `events` and `balance_transactions` rows of its
merchant and mode (ADR 0016), so `sbtc-gateway analytics rebuild` writes the same rows as the
consumer did, and nothing in them is the only copy of anything.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base

# The rollup's grid: every time zone in use today is a whole number of quarter hours from UTC,
# so local days, weeks and months are unions of these buckets.
BUCKET_SECONDS = 900
DAY_SECONDS = 86_400


class PaymentEvent(Base):
    """The seed's `payment_events`: one row per payment, charge or refund event (same id)."""

    __tablename__ = "payment_events"
    __table_args__ = (
        Index("ix_payment_events_scope_time", "merchant_id", "livemode", "timestamp"),
        Index("ix_payment_events_payment", "payment_id"),
        Index("ix_payment_events_charge", "charge_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool]
    payment_id: Mapped[str] = mapped_column(String(36))
    charge_id: Mapped[str | None] = mapped_column(String(36), default=None)
    event_type: Mapped[str] = mapped_column(String(64))
    # the object's status, and why it is there (cancellation reason, failure code)
    status: Mapped[str | None] = mapped_column(String(32), default=None)
    reason: Mapped[str | None] = mapped_column(String(64), default=None)
    amount: Mapped[int] = mapped_column(default=0)
    timestamp: Mapped[int]
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(45), default=None)
    user_agent: Mapped[str | None] = mapped_column(String(512), default=None)


class PaymentSummary(Base):
    """One PaymentIntent as analytics sees it: how far it got, and when (the funnel)."""

    __tablename__ = "analytics_payments"
    __table_args__ = (
        Index("ix_analytics_payments_created", "merchant_id", "livemode", "created"),
        Index("ix_analytics_payments_succeeded", "merchant_id", "livemode", "succeeded_at"),
        Index("ix_analytics_payments_payer", "merchant_id", "livemode", "payer"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool]
    created: Mapped[int]
    amount: Mapped[int]
    amount_received: Mapped[int] = mapped_column(default=0)
    confirmed_at: Mapped[int | None] = mapped_column(default=None)
    processing_at: Mapped[int | None] = mapped_column(default=None)
    # the success that stands (a payment reversed after a reorg has none, until paid again)
    succeeded_at: Mapped[int | None] = mapped_column(default=None)
    canceled_at: Mapped[int | None] = mapped_column(default=None)
    cancellation_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    failure_code: Mapped[str | None] = mapped_column(String(64), default=None)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    reversals: Mapped[int] = mapped_column(default=0)
    paid_late: Mapped[bool] = mapped_column(default=False)
    payer: Mapped[str | None] = mapped_column(String(64), default=None)


class _Figures:
    """The additive figures of a window (shared by both rollups)."""

    gross: Mapped[int] = mapped_column(default=0)
    fees: Mapped[int] = mapped_column(default=0)
    refunds: Mapped[int] = mapped_column(default=0)
    reversals: Mapped[int] = mapped_column(default=0)
    net: Mapped[int] = mapped_column(default=0)
    charge_count: Mapped[int] = mapped_column(default=0)
    refund_count: Mapped[int] = mapped_column(default=0)
    reversal_count: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    converted_count: Mapped[int] = mapped_column(default=0)
    succeeded_count: Mapped[int] = mapped_column(default=0)
    failed_count: Mapped[int] = mapped_column(default=0)
    canceled_count: Mapped[int] = mapped_column(default=0)
    expired_count: Mapped[int] = mapped_column(default=0)


class IntervalMetrics(_Figures, Base):
    """Quarter-hour rollup (UTC-aligned), the grid of time-zone-aware series and summaries."""

    __tablename__ = "interval_metrics"

    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), primary_key=True)
    livemode: Mapped[bool] = mapped_column(primary_key=True)
    bucket_start: Mapped[int] = mapped_column(primary_key=True)


class DailyMetrics(_Figures, Base):
    """The seed's `daily_metrics`: per merchant, mode and UTC day."""

    __tablename__ = "daily_metrics"

    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), primary_key=True)
    livemode: Mapped[bool] = mapped_column(primary_key=True)
    day_start: Mapped[int] = mapped_column(primary_key=True)
    date: Mapped[str] = mapped_column(String(10))
    # the seed's names for two of the figures: gross volume and number of charges
    total_volume: Mapped[int] = mapped_column(default=0)
    transaction_count: Mapped[int] = mapped_column(default=0)
    average_amount: Mapped[int] = mapped_column(default=0)
    distinct_payers: Mapped[int] = mapped_column(default=0)
    median_time_to_pay: Mapped[int | None] = mapped_column(default=None)


class AnalyticsScope(Base):
    """One row per merchant and mode: the lock that serializes rollups of that scope (so two
    workers never compute a bucket from each other's uncommitted rows), and counters."""

    __tablename__ = "analytics_scopes"

    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), primary_key=True)
    livemode: Mapped[bool] = mapped_column(primary_key=True)
    events_consumed: Mapped[int] = mapped_column(default=0)
    last_event_at: Mapped[int | None] = mapped_column(default=None)
