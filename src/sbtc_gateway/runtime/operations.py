"""The worker's database-operations step: partition upkeep, and the disaster-recovery metrics.

- Partitions (PostgreSQL, db/partitions.py): the coming months are created and the months past
  SBTC_EVENT_RETENTION_DAYS dropped, at most once an hour, in a short transaction of its own.
- `backup_checks` (written by the daily restore check, db/verify.py) → the latest outcome as
  gauges, so Prometheus can alert on a check that failed or stopped running.
- `pg_stat_archiver` → whether WAL archiving is failing, and when it last archived.
"""

from __future__ import annotations

import time

import structlog
from sqlalchemy import desc, select, text

from sbtc_gateway.db import partitions
from sbtc_gateway.db.checks import BackupCheck
from sbtc_gateway.observability import metrics
from sbtc_gateway.runtime.container import Gateway

log = structlog.get_logger(__name__)

PARTITION_INTERVAL_SECONDS = 3600.0


async def maintain_partitions(state: Gateway) -> partitions.Maintenance:
    async with state.engine.begin() as conn:
        done = await conn.run_sync(
            lambda sync: partitions.maintain(
                sync, retention_days=state.settings.event_retention_days
            )
        )
    for name in done.dropped:
        metrics.PARTITIONS_DROPPED.labels(name.rsplit("_p", 1)[0]).inc()
    if done.created or done.dropped:
        log.info(
            "partitions",
            created=done.created,
            dropped=done.dropped,
            deliveries_purged=done.deliveries_purged,
        )
    return done


async def export_recovery_metrics(state: Gateway) -> None:
    async with state.sessions() as session:
        latest = (
            await session.execute(select(BackupCheck).order_by(desc(BackupCheck.id)).limit(1))
        ).scalar_one_or_none()
        passed = (
            await session.execute(
                select(BackupCheck.created)
                .where(BackupCheck.ok.is_(True))
                .order_by(desc(BackupCheck.id))
                .limit(1)
            )
        ).scalar_one_or_none()
        archiver = None
        if state.engine.dialect.name == "postgresql":
            archiver = (
                await session.execute(
                    text(
                        "SELECT extract(epoch FROM last_archived_time), "
                        "coalesce(last_failed_time > last_archived_time, "
                        "last_failed_time IS NOT NULL) FROM pg_stat_archiver"
                    )
                )
            ).one_or_none()
    if latest is not None:
        metrics.BACKUP_VERIFICATION_OK.set(1 if latest.ok else 0)
        metrics.BACKUP_RESTORE_SECONDS.set(latest.restore_ms / 1000)
    if passed is not None:
        metrics.BACKUP_VERIFIED.set(passed)
    if archiver is not None:
        archived, failing = archiver
        if archived is not None:
            metrics.WAL_ARCHIVED.set(float(archived))
        metrics.WAL_ARCHIVE_FAILING.set(1 if failing else 0)


class Operations:
    """Called every sweep; partition upkeep runs at most once an hour."""

    def __init__(self, state: Gateway) -> None:
        self.state = state
        self.next_partitions = 0.0

    async def run(self) -> None:
        if time.monotonic() >= self.next_partitions:
            self.next_partitions = time.monotonic() + PARTITION_INTERVAL_SECONDS
            try:
                await maintain_partitions(self.state)
            except Exception:  # a busy table (lock timeout): the next hour tries again
                log.warning("partition upkeep skipped", exc_info=True)
        await export_recovery_metrics(self.state)
