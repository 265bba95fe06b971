"""Webhook endpoints, one delivery row per (event, endpoint), and one row per attempt.

Scheduling columns are milliseconds (`*_ms`): test-mode retries are sub-second. Everything the
API shows stays in unix seconds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base, JSONType, now


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_scope_id", "merchant_id", "livemode", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool]
    url: Mapped[str] = mapped_column(Text)
    enabled_events: Mapped[list[str]] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    api_version: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), default="enabled")
    # AES-256-GCM ciphertexts, "kid:base64(nonce|ciphertext)", bound to the endpoint id.
    secret_enc: Mapped[str] = mapped_column(Text)
    previous_secret_enc: Mapped[str | None] = mapped_column(Text, default=None)
    previous_secret_expires_at: Mapped[int | None] = mapped_column(default=None)
    failing_since: Mapped[int | None] = mapped_column(default=None)
    disabled_reason: Mapped[str | None] = mapped_column(String(64), default=None)
    deleted_at: Mapped[int | None] = mapped_column(default=None)
    created: Mapped[int] = mapped_column(default=now)
    updated: Mapped[int] = mapped_column(default=now, onupdate=now)


class WebhookDelivery(Base):
    """The durable promise to deliver one event to one endpoint (never kept in memory)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id", name="uq_webhook_deliveries_event_endpoint"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_ms"),
        Index("ix_webhook_deliveries_lease", "lease_until_ms"),
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "status"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    # no foreign key: `events` is partitioned on PostgreSQL (db/partitions.py) and a key must
    # name the partition column; fan-out writes deliveries only for events it has just read
    event_id: Mapped[str] = mapped_column(String(36))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id"))
    merchant_id: Mapped[str] = mapped_column(String(36))
    livemode: Mapped[bool]
    # pending → succeeded | failed (gave up) | canceled (endpoint disabled or deleted)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_ms: Mapped[int]
    deadline_ms: Mapped[int]
    lease_until_ms: Mapped[int | None] = mapped_column(default=None)
    lease_token: Mapped[str | None] = mapped_column(String(32), default=None)
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(255), default=None)
    delivered_at: Mapped[int | None] = mapped_column(default=None)
    created: Mapped[int] = mapped_column(default=now)
    updated: Mapped[int] = mapped_column(default=now, onupdate=now)


class WebhookAttempt(Base):
    """The delivery log: one row per HTTP attempt."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        Index("ix_webhook_attempts_endpoint", "endpoint_id", "id"),
        Index("ix_webhook_attempts_event", "event_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), ForeignKey("webhook_deliveries.id")
    )
    event_id: Mapped[str] = mapped_column(String(36))
    endpoint_id: Mapped[str] = mapped_column(String(36))
    merchant_id: Mapped[str] = mapped_column(String(36))
    livemode: Mapped[bool]
    attempt: Mapped[int]
    succeeded: Mapped[bool]
    status_code: Mapped[int | None] = mapped_column(default=None)
    latency_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(String(255), default=None)
    response_snippet: Mapped[str | None] = mapped_column(Text, default=None)
    worker: Mapped[str | None] = mapped_column(String(64), default=None)
    created: Mapped[int] = mapped_column(default=now)
