from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base, now


class Merchant(Base):
    __tablename__ = "merchants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    business_name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str] = mapped_column(String(255), unique=True)
    stacks_address: Mapped[str] = mapped_column(String(64))
    # Payout address for live mode (mainnet); set at activation.
    live_stacks_address: Mapped[str | None] = mapped_column(String(64), default=None)
    tier: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")
    live_activated_at: Mapped[int | None] = mapped_column(default=None)
    payment_expiry_seconds: Mapped[int | None] = mapped_column(default=None)
    # Branding of the hosted checkout and receipts (`POST /v1/account`).
    logo_url: Mapped[str | None] = mapped_column(String(500), default=None)
    accent_color: Mapped[str | None] = mapped_column(String(7), default=None)
    created: Mapped[int] = mapped_column(default=now)
    updated: Mapped[int] = mapped_column(default=now, onupdate=now)


class ApiKey(Base):
    """A stored key: only an HMAC of the secret is kept, found by its public lookup prefix."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_lookup", "lookup"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"), index=True)
    livemode: Mapped[bool]
    kind: Mapped[str] = mapped_column(String(16))  # "secret" | "publishable"
    lookup: Mapped[str] = mapped_column(String(32))
    digest: Mapped[str] = mapped_column(String(64))
    last4: Mapped[str] = mapped_column(String(4))
    created: Mapped[int] = mapped_column(default=now)
    expires_at: Mapped[int | None] = mapped_column(default=None)
    revoked_at: Mapped[int | None] = mapped_column(default=None)
