"""Backup and restore on SQLite and PostgreSQL: a restored database serves what was there when
the backup was taken (keys still authenticate, users still log in, webhook secrets still
decrypt), and nothing after it; restores refuse non-empty targets and foreign files."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from sbtc_gateway.config import Settings
from sbtc_gateway.db import backup as backups
from sbtc_gateway.db.migrate import upgrade
from tests.conftest import (
    IN_CI,
    _pg_admin,
    _pg_reachable,
    _pg_url,
    make_settings,
    sign_up,
)

PASSWORD = "a long enough passphrase"


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def new_database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], Any]]:
    """A factory of empty databases of one backend (dropped afterwards)."""
    created: list[str] = []
    if request.param == "postgres" and not _pg_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (required in CI)")
        pytest.skip("PostgreSQL is not reachable")

    async def make() -> str:
        if request.param == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / f'{secrets.token_hex(4)}.db'}"
        name = f"sbtc_backup_{secrets.token_hex(4)}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        created.append(name)
        return _pg_url(name)

    yield make
    for name in created:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _settings(url: str, data_dir: Path) -> Settings:
    return make_settings(url, data_dir)


async def test_restore_gives_back_the_state_at_backup_time(
    new_database: Callable[[], Any], make_instance: Any, tmp_path: Path
) -> None:
    source = await new_database()
    await upgrade(source)
    gateway = await make_instance(_settings(source, tmp_path))
    merchant = await sign_up(gateway.client, password=PASSWORD)
    before = [(await merchant.create_intent(amount=10_000 + i))["id"] for i in range(3)]
    hook = await merchant.post(
        "/v1/webhook_endpoints", {"url": "https://example.com/hook", "enabled_events[]": "*"}
    )
    assert hook.status_code == 200, hook.text

    file = tmp_path / "gateway.backup"
    summary = await backups.backup(source, file)
    assert summary.rows["payment_intents"] == 3
    assert summary.revision is not None
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
    after = (await merchant.create_intent(amount=99_000))["id"]  # not in the backup

    target = await new_database()
    restored = await backups.restore(target, file)
    assert restored.rows == summary.rows
    assert restored.revision == summary.revision

    again = await make_instance(_settings(target, tmp_path))
    merchant.client = again.client
    listed = [pi["id"] for pi in (await merchant.get("/v1/payment_intents")).json()["data"]]
    assert sorted(listed) == sorted(before)  # the same key authenticates; `after` is absent
    assert after not in listed
    endpoint = await merchant.get(f"/v1/webhook_endpoints/{hook.json()['id']}")
    assert endpoint.status_code == 200
    rotated = await merchant.post(f"/v1/webhook_endpoints/{hook.json()['id']}/rotate_secret")
    assert rotated.status_code == 200, rotated.text  # the stored secret still decrypts
    login = await again.client.post(
        "/v1/auth/login", data={"email": merchant.body["email"], "password": PASSWORD}
    )
    assert login.status_code == 200, login.text

    # a database with tables is not overwritten by accident
    with pytest.raises(backups.BackupError, match="already has tables"):
        await backups.restore(target, file)


async def test_restore_refuses_what_is_not_a_gateway_backup(
    new_database: Callable[[], Any], tmp_path: Path
) -> None:
    target = await new_database()
    with pytest.raises(backups.BackupError, match="no backup file"):
        await backups.restore(target, tmp_path / "missing.backup")
    foreign = tmp_path / "foreign.backup"
    if target.startswith("sqlite"):
        with sqlite3.connect(foreign) as conn:  # a SQLite file, but not the gateway's
            conn.execute("CREATE TABLE notes (id INTEGER)")
        conn.close()
    else:
        foreign.write_bytes(b"not a pg_dump archive")
    with pytest.raises(backups.BackupError):
        await backups.restore(target, foreign)


async def test_an_unmigrated_database_is_not_backed_up(
    new_database: Callable[[], Any], tmp_path: Path
) -> None:
    source = await new_database()
    with pytest.raises(backups.BackupError, match="no gateway schema"):
        await asyncio.wait_for(backups.backup(source, tmp_path / "x.backup"), 60)
    assert not (tmp_path / "x.backup").exists()
