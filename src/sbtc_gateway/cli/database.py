"""Database commands: `migrate`, `backup`, `restore`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from sbtc_gateway.cli.base import _settings, main


@main.command()
@click.option("--output", required=True, type=click.Path(path_type=Path), help="File to write.")
def backup(output: Path) -> None:
    """Copy the database to a file (pg_dump custom format, or a SQLite snapshot), online."""
    from sbtc_gateway.db import backup as backups

    settings = _settings()
    try:
        summary = asyncio.run(backups.backup(settings.resolved_database_url, output))
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps({"file": str(output), **summary.as_dict()}))


@main.command()
@click.option("--input", "source", required=True, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace the tables of a database that has some.")
def restore(source: Path, force: bool) -> None:
    """Load a backup into an empty database, then migrate it to this version's schema."""
    from sbtc_gateway.db import backup as backups

    settings = _settings()
    try:
        summary = asyncio.run(backups.restore(settings.resolved_database_url, source, force=force))
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps({"file": str(source), **summary.as_dict()}))


@main.command()
def migrate() -> None:
    """Apply database migrations."""
    from sbtc_gateway.db.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(upgrade(settings.resolved_database_url))
    click.echo("migrations applied")
