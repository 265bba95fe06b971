"""Backups and restores of the gateway's database: `sbtc-gateway backup` / `restore`.

PostgreSQL goes through `pg_dump --format=custom` and `pg_restore --single-transaction` (the
Debian `postgresql-client` of the server's major version or newer); SQLite through its online
backup API, which copies a consistent snapshot while the gateway keeps running. The password of
a PostgreSQL URL is handed to the tools in `PGPASSWORD`, never on a command line. Files are
written 0600 and renamed into place only when complete.

A restore refuses a database that already has tables (unless forced), refuses a backup taken by
a newer gateway (a migration this code does not know), and migrates an older one forward.
Secrets are not in the database (API keys are keyed hashes, webhook secrets are encrypted under
`SBTC_ENCRYPTION_KEYS`): a restored gateway needs the same server secrets to accept the
old keys and decrypt the endpoints' secrets. Backups hold merchants' e-mails and payment data:
store them like the database itself.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import URL, Connection, make_url

from sbtc_gateway.db.engine import make_engine
from sbtc_gateway.db.migrate import alembic_config, upgrade

# Tables whose row counts a backup reports (a quick check that a restore holds what it should).
COUNTED = ("merchants", "api_keys", "payment_intents", "events", "refunds", "webhook_endpoints")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


@dataclass(frozen=True)
class DatabaseSummary:
    backend: str
    revision: str | None
    rows: dict[str, int] = field(default_factory=dict)
    tables: int = 0  # every table, the gateway's or not

    def as_dict(self) -> dict[str, Any]:
        return {"backend": self.backend, "revision": self.revision, "rows": self.rows}


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment that carries the password."""
    plain = url.set(drivername="postgresql", password=None)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (Debian package postgresql-client)")
    return found


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-2000:]}")


def _write_backup(url: URL, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    partial.touch(mode=0o600)
    try:
        if url.get_backend_name() == "sqlite":
            source = sqlite3.connect(_sqlite_path(url))
            target = sqlite3.connect(partial)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        else:
            libpq, env = _libpq(url)
            _run(
                [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                 f"--file={partial}", f"--dbname={libpq}"],
                env,
            )  # fmt: skip
        os.chmod(partial, 0o600)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def _load_backup(url: URL, source: Path) -> None:
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    if url.get_backend_name() == "sqlite":
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        target = sqlite3.connect(path)
        try:
            backup_db.backup(target)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a SQLite backup: {exc}") from None
        finally:
            target.close()
            backup_db.close()
        return
    libpq, env = _libpq(url)
    _run(
        [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
         "--single-transaction", "--exit-on-error", f"--dbname={libpq}", str(source)],
        env,
    )  # fmt: skip


async def summarize(database_url: str) -> DatabaseSummary:
    url = make_url(database_url)
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:

            def read(sync: Connection) -> DatabaseSummary:
                tables = set(inspect(sync).get_table_names())
                revision = None
                if "alembic_version" in tables:
                    revision = sync.execute(
                        text("SELECT version_num FROM alembic_version")
                    ).scalar()
                rows = {
                    t: int(sync.execute(text(f"SELECT count(*) FROM {t}")).scalar() or 0)  # noqa: S608 - fixed names  # nosec B608
                    for t in COUNTED
                    if t in tables
                }
                return DatabaseSummary(url.get_backend_name(), revision, rows, len(tables))

            return await conn.run_sync(read)
    finally:
        await engine.dispose()


async def backup(database_url: str, output: Path) -> DatabaseSummary:
    """Write a consistent copy of the database to `output` (replaced only once complete)."""
    url = make_url(database_url)
    summary = await summarize(database_url)
    if summary.revision is None:
        raise BackupError("the database has no gateway schema (run `sbtc-gateway migrate`)")
    await asyncio.to_thread(_write_backup, url, output)
    return summary


async def restore(database_url: str, source: Path, *, force: bool = False) -> DatabaseSummary:
    """Load `source` into the (empty) database, then migrate it to this gateway's schema."""
    url = make_url(database_url)
    if (await summarize(database_url)).tables and not force:
        raise BackupError(
            "the target database already has tables; restore into an empty database "
            "(or pass --force to replace what is there)"
        )
    await asyncio.to_thread(_load_backup, url, source)
    restored = await summarize(database_url)
    known = ScriptDirectory.from_config(alembic_config(database_url))
    if restored.revision is None:
        raise BackupError("the restored database has no gateway schema: not a gateway backup?")
    try:
        known.get_revision(restored.revision)
    except Exception:  # alembic's ResolutionError: a migration this code does not have
        raise BackupError(
            f"the backup is at schema revision {restored.revision}, which this gateway does "
            "not know: restore it with the gateway version that took it (or a newer one)"
        ) from None
    await upgrade(database_url)
    return await summarize(database_url)
