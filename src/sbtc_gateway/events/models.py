from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, false, true
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base, now


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_scope_id", "merchant_id", "livemode", "id"),
        Index("ix_events_object", "object_id"),
        Index("ix_events_fanout", "fanout_pending", "id"),
        Index("ix_events_analytics", "analytics_pending", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool]
    type: Mapped[str] = mapped_column(String(64))
    api_version: Mapped[str | None] = mapped_column(String(64), default=None)
    object_id: Mapped[str] = mapped_column(String(36))
    data: Mapped[dict[str, Any]]
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    pending_webhooks: Mapped[int] = mapped_column(default=0)
    # True until the webhook worker has turned the event into delivery rows (the outbox flag).
    fanout_pending: Mapped[bool] = mapped_column(default=True, server_default=false())
    # True until the analytics consumer has folded the event into its tables (ADR 0016).
    analytics_pending: Mapped[bool] = mapped_column(default=True, server_default=true())
    # The request that caused the change (a checkout's confirm, say), for analytics only.
    request_ip: Mapped[str | None] = mapped_column(String(45), default=None)
    request_user_agent: Mapped[str | None] = mapped_column(String(512), default=None)
    created: Mapped[int] = mapped_column(default=now)
