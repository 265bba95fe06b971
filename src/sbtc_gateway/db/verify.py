"""The daily restore check: restore the newest base backup and the archived WAL into a scratch
cluster, and check that it is the gateway's database.

`sbtc-gateway backup --verify` (compose's `backup` service, the Kubernetes CronJob) unpacks the
newest base backup, replays every archived segment to the end of the archive, promotes, then
checks that the schema revision is one this gateway knows and that the tables a backup counts
hold at least the rows they held when the base backup was taken (merchants, keys and intents
are never deleted). The scratch cluster listens on a socket in its own directory only, does not
archive, and is deleted afterwards. The outcome, with the measured restore time (the RTO of
this database today), goes into `backup_checks` in the live database; the worker exports it
(`sbtc_backup_verified_timestamp_seconds`, alerts BackupRestoreNotVerified and
BackupRestoreFailed).
"""

from __future__ import annotations

import secrets
import shutil
import socket
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from sbtc_gateway.db.backup import BackupError, summarize
from sbtc_gateway.db.checks import BackupCheck
from sbtc_gateway.db.engine import make_engine, make_sessionmaker
from sbtc_gateway.db.migrate import alembic_config
from sbtc_gateway.db.pitr import choose_backup, restore, stop_cluster

# Rows of these tables are never deleted: a restore must have at least the backup's counts.
NEVER_DELETED = ("merchants", "api_keys", "payment_intents")


@dataclass
class Verification:
    backup_label: str
    ok: bool
    revision: str | None
    rows: dict[str, int] = field(default_factory=dict)
    restore_seconds: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def verify_latest(
    database_url: str, backup_dir: Path, archive_address: str, workdir: Path
) -> Verification:
    """Restore, check, record in `backup_checks` (of `database_url`), clean up."""
    backup = choose_backup(backup_dir, None)
    url = make_url(database_url)
    scratch = workdir / f"verify-{backup.label}-{secrets.token_hex(3)}"
    port = _free_port()
    local = url.set(host=None, port=port).update_query_dict({"host": str(scratch)})
    plain = f"postgresql://{url.username}@/{url.database}?host={scratch}&port={port}"
    result = Verification(backup.label, False, None)
    began = time.monotonic()
    try:
        await restore(
            backup_dir, archive_address, scratch, start=True, port=port, scratch=True,
            wait_dsn=plain,
        )  # fmt: skip
        result.restore_seconds = time.monotonic() - began
        summary = await summarize(local.render_as_string(hide_password=False))
        result.revision, result.rows = summary.revision, summary.rows
        known = ScriptDirectory.from_config(alembic_config(database_url))
        if summary.revision is None:
            raise BackupError("the restored database has no schema revision")
        try:
            known.get_revision(summary.revision)
        except Exception:  # alembic's ResolutionError
            raise BackupError(f"unknown schema revision {summary.revision}") from None
        for table in NEVER_DELETED:
            if summary.rows.get(table, 0) < backup.rows.get(table, 0):
                raise BackupError(
                    f"{table}: {summary.rows.get(table, 0)} rows restored, "
                    f"{backup.rows[table]} at backup time"
                )
        result.ok = True
    except (BackupError, OSError) as exc:
        result.error = str(exc)[-2000:]
        result.restore_seconds = result.restore_seconds or time.monotonic() - began
    finally:
        stop_cluster(scratch, mode="immediate")
        shutil.rmtree(scratch, ignore_errors=True)
    await record(database_url, result)
    return result


async def record(database_url: str, result: Verification) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine).begin() as session:
            session.add(
                BackupCheck(
                    backup_label=result.backup_label,
                    ok=result.ok,
                    revision=result.revision,
                    rows=result.rows,
                    restore_ms=int(result.restore_seconds * 1000),
                    error=result.error,
                )
            )
    finally:
        await engine.dispose()
