"""`report_runs` (claimed by workers with a lease) and `files` (what the store holds)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base, now


class ReportRun(Base):
    __tablename__ = "report_runs"
    __table_args__ = (
        Index("ix_report_runs_scope_id", "merchant_id", "livemode", "id"),
        Index("ix_report_runs_due", "status", "lease_until"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool]
    report_type: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]]
    # pending → succeeded | failed
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text, default=None)
    result_file_id: Mapped[str | None] = mapped_column(String(36), default=None)
    lease_until: Mapped[int | None] = mapped_column(default=None)
    lease_token: Mapped[str | None] = mapped_column(String(32), default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=now)
    succeeded_at: Mapped[int | None] = mapped_column(default=None)


class StoredFile(Base):
    """A file in the store (Stripe's File): the bytes live behind `FileStore`, not here."""

    __tablename__ = "files"
    __table_args__ = (Index("ix_files_scope_id", "merchant_id", "livemode", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("merchants.id"))
    livemode: Mapped[bool]
    purpose: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))
    size: Mapped[int]
    storage_key: Mapped[str] = mapped_column(String(255))
    created: Mapped[int] = mapped_column(default=now)
    expires_at: Mapped[int | None] = mapped_column(default=None)
