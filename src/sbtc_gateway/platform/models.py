"""`platform_operators`: the people who run the gateway (separate from merchants' users)."""

from __future__ import annotations

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base, now


class PlatformOperator(Base):
    """An operator account. Its token is shown once (`sbtc-gateway operators create`) and kept
    as an HMAC digest, found by its lookup prefix, as API keys are."""

    __tablename__ = "platform_operators"
    __table_args__ = (Index("ix_platform_operators_lookup", "token_lookup"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    token_lookup: Mapped[str] = mapped_column(String(32))
    token_digest: Mapped[str] = mapped_column(String(64))
    created: Mapped[int] = mapped_column(default=now)
    disabled_at: Mapped[int | None] = mapped_column(default=None)
