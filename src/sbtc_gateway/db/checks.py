"""`backup_checks`: the outcome of each restore verification (db/verify.py).

The check runs where the backups are (a CronJob, compose's `backup` service), not in a scraped
process, so it writes its outcome here and the worker turns the latest rows into metrics
(`sbtc_backup_verified_timestamp_seconds`, `sbtc_backup_verification_ok`,
`sbtc_backup_restore_seconds`) that alert rules watch.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base, now


class BackupCheck(Base):
    __tablename__ = "backup_checks"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    backup_label: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool]
    revision: Mapped[str | None] = mapped_column(String(64), default=None)
    rows: Mapped[dict[str, Any]]
    # unpack + WAL replay + promotion of the scratch restore: the measured RTO
    restore_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created: Mapped[int] = mapped_column(default=now)
