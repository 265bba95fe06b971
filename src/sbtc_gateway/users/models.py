from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base, now


class User(Base):
    """A dashboard user of one merchant; the email is unique per merchant (kept lowercase)."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("merchant_id", "email", name="uq_users_merchant_email"),
        Index("ix_users_email", "email"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    email: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | disabled
    created: Mapped[int] = mapped_column(default=now)
    updated: Mapped[int] = mapped_column(default=now, onupdate=now)
    last_login_at: Mapped[int | None] = mapped_column(default=None)

    def __repr__(self) -> str:  # never the hash
        return f"User(id={self.id!r}, merchant_id={self.merchant_id!r}, role={self.role!r})"


class RefreshToken(Base):
    """One refresh token of a session ("family"); only its HMAC digest is stored.

    Using a token sets `used_at` and `replaced_by` (the next token of the family); presenting a
    used token again revokes the whole family.
    """

    __tablename__ = "refresh_tokens"
    __table_args__ = (
        Index("ix_refresh_tokens_digest", "digest", unique=True),
        Index("ix_refresh_tokens_family", "family_id"),
        Index("ix_refresh_tokens_user", "user_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    digest: Mapped[str] = mapped_column(String(64))
    livemode: Mapped[bool]
    created: Mapped[int] = mapped_column(default=now)
    expires_at: Mapped[int]
    used_at: Mapped[int | None] = mapped_column(default=None)
    revoked_at: Mapped[int | None] = mapped_column(default=None)
    replaced_by: Mapped[str | None] = mapped_column(String(36), default=None)
