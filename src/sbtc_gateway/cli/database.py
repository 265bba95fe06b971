"""Database commands: `migrate`, `backup`, `restore`, `wal`.

`backup --output F` / `restore --input F` copy a whole database (pg_dump, or SQLite's online
backup). On PostgreSQL with WAL archiving, `backup --base` takes a base backup, `restore
--to-time T` rebuilds the database as it was at T in a fresh data directory, `backup --verify`
is the daily restore check and `backup --prune` applies the retention window (db/pitr.py).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import click

from sbtc_gateway.cli.base import _settings, main

BACKUP_DIR = click.option(
    "--backup-dir",
    type=click.Path(path_type=Path),
    envvar="SBTC_BACKUP_DIR",
    help="Where base backups are (env SBTC_BACKUP_DIR).",
)
WAL_ARCHIVE = click.option(
    "--wal-archive", envvar="SBTC_WAL_ARCHIVE", help="The WAL archive (env SBTC_WAL_ARCHIVE)."
)


def parse_time(value: str) -> datetime:
    """ISO 8601 (no offset: UTC) or unix seconds."""
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: ISO 8601 or unix seconds") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _need(value: object, name: str) -> None:
    if not value:
        raise click.UsageError(f"{name} is required (or its environment variable)")


@main.command()
@click.option("--output", type=click.Path(path_type=Path), help="Logical backup to this file.")
@click.option("--base", is_flag=True, help="PostgreSQL base backup into --backup-dir.")
@click.option("--verify", is_flag=True, help="Restore the newest base backup and check it.")
@click.option("--prune", is_flag=True, help="Drop backups and WAL past the retention window.")
@BACKUP_DIR
@WAL_ARCHIVE
def backup(
    output: Path | None,
    base: bool,
    verify: bool,
    prune: bool,
    backup_dir: Path | None,
    wal_archive: str | None,
) -> None:
    """Back up the database: a file (--output), or base backups for point-in-time recovery."""
    from sbtc_gateway.db import backup as backups
    from sbtc_gateway.db import pitr

    if sum(map(bool, (output, base, verify, prune))) != 1:
        raise click.UsageError("choose one of --output FILE, --base, --verify, --prune")
    settings = _settings()
    backup_dir = backup_dir or settings.backup_dir
    wal_archive = wal_archive or settings.wal_archive
    try:
        if output is not None:
            summary = asyncio.run(backups.backup(settings.resolved_database_url, output))
            click.echo(json.dumps({"file": str(output), **summary.as_dict()}))
            return
        _need(backup_dir, "--backup-dir")
        assert backup_dir is not None
        if base:
            made = asyncio.run(pitr.base_backup(settings.resolved_database_url, backup_dir))
            click.echo(json.dumps(made.as_dict()))
            return
        _need(wal_archive, "--wal-archive")
        assert wal_archive is not None
        if prune:
            from sbtc_gateway.db.wal import open_archive

            done = pitr.prune(backup_dir, open_archive(wal_archive), settings.backup_retention_days)
            click.echo(json.dumps(done.__dict__))
            return
        from sbtc_gateway.db.verify import verify_latest

        workdir = settings.data_dir / "restore-checks"
        workdir.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(
            verify_latest(settings.resolved_database_url, backup_dir, wal_archive, workdir)
        )
        click.echo(json.dumps(result.as_dict()))
        if not result.ok:
            raise click.ClickException(f"restore check failed: {result.error}")
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--input", "source", type=click.Path(path_type=Path), help="A logical backup.")
@click.option("--force", is_flag=True, help="Replace the tables of a database that has some.")
@click.option("--to-time", help="Point in time (ISO 8601, UTC unless an offset is given).")
@click.option("--latest", is_flag=True, help="Everything the archive holds (after a loss).")
@click.option("--target-dir", type=click.Path(path_type=Path), help="A fresh data directory.")
@click.option("--start", is_flag=True, help="Start PostgreSQL there and wait for recovery.")
@click.option("--port", type=int, help="Port of the restored server (with --start).")
@click.option(
    "--no-archive",
    is_flag=True,
    help="Archiving off in the restored cluster (a copy beside a primary that still runs: its "
    "new timeline must not enter the primary's archive).",
)
@BACKUP_DIR
@WAL_ARCHIVE
def restore(
    source: Path | None,
    force: bool,
    to_time: str | None,
    latest: bool,
    target_dir: Path | None,
    start: bool,
    port: int | None,
    no_archive: bool,
    backup_dir: Path | None,
    wal_archive: str | None,
) -> None:
    """Load a logical backup (--input), or rebuild a PostgreSQL cluster as it was at a moment
    (--to-time T, or --latest) from base backups and the WAL archive into --target-dir."""
    from sbtc_gateway.db import backup as backups

    if (source is not None) == bool(to_time or latest):
        raise click.UsageError("choose --input FILE, or --to-time T / --latest --target-dir D")
    try:
        if source is not None:
            settings = _settings()
            summary = asyncio.run(
                backups.restore(settings.resolved_database_url, source, force=force)
            )
            click.echo(json.dumps({"file": str(source), **summary.as_dict()}))
            return
        from sbtc_gateway.db import pitr

        for value, name in ((target_dir, "--target-dir"), (backup_dir, "--backup-dir"),
                            (wal_archive, "--wal-archive")):  # fmt: skip
            _need(value, name)
        assert target_dir is not None
        assert backup_dir is not None
        assert wal_archive is not None
        moment = parse_time(to_time) if to_time else None
        done = asyncio.run(
            pitr.restore(
                backup_dir,
                wal_archive,
                target_dir,
                to_time=moment,
                start=start,
                port=port,
                archiving=not no_archive,
            )
        )
        click.echo(json.dumps(done.as_dict()))
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def wal() -> None:
    """PostgreSQL's archive_command / restore_command (also `python -m sbtc_gateway.db.wal`)."""


@wal.command("push")
@click.option("--archive", envvar="SBTC_WAL_ARCHIVE", required=True)
@click.argument("path")
@click.argument("name")
def wal_push(archive: str, path: str, name: str) -> None:
    """archive_command: store the segment at PATH (%p) as NAME (%f)."""
    from sbtc_gateway.db.wal import main as wal_main

    raise SystemExit(wal_main(["push", "--archive", archive, path, name]))


@wal.command("fetch")
@click.option("--archive", envvar="SBTC_WAL_ARCHIVE", required=True)
@click.argument("name")
@click.argument("path")
def wal_fetch(archive: str, name: str, path: str) -> None:
    """restore_command: copy NAME (%f) to PATH (%p); exit 1 if the archive lacks it."""
    from sbtc_gateway.db.wal import main as wal_main

    raise SystemExit(wal_main(["fetch", "--archive", archive, name, path]))


@main.command()
def migrate() -> None:
    """Apply database migrations."""
    from sbtc_gateway.db.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(upgrade(settings.resolved_database_url))
    click.echo("migrations applied")
