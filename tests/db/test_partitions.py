"""Monthly partitions of events and webhook_attempts on PostgreSQL (migration 0007o, the
worker's upkeep), retention by dropping whole partitions, and a no-op on SQLite."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import Connection

from sbtc_gateway.db import partitions
from sbtc_gateway.db.engine import make_engine
from sbtc_gateway.db.migrate import upgrade
from sbtc_gateway.runtime.operations import maintain_partitions
from tests.conftest import IN_CI, _pg_admin, _pg_reachable, _pg_url, make_settings, sign_up

NOW = datetime(2027, 6, 15, 12, tzinfo=UTC)
DAY = 86400


@pytest_asyncio.fixture
async def pg_database() -> AsyncIterator[str]:
    if not _pg_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (required in CI)")
        pytest.skip("PostgreSQL is not reachable")
    name = f"sbtc_partitions_{secrets.token_hex(4)}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield _pg_url(name)
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _sync(url: str, fn: Any) -> Any:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


async def test_existing_rows_move_into_monthly_partitions(pg_database: str, tmp_path: Path) -> None:
    await upgrade(pg_database, "0006")  # a database from before the migration, with rows
    old = int(datetime(2026, 9, 3, tzinfo=UTC).timestamp())

    def seed(conn: Connection) -> None:
        conn.execute(
            text(
                "INSERT INTO merchants (id, business_name, email, stacks_address, tier, status, "
                "created, updated) VALUES ('acct_1', 'S', 's@example.com', 'ST1', 'starter', "
                "'active', 1, 1)"
            )
        )
        conn.execute(text(
            "INSERT INTO events (id, merchant_id, livemode, type, object_id, data, "
            "pending_webhooks, fanout_pending, created) VALUES ('evt_old', 'acct_1', false, "
            "'payment_intent.created', 'pi_1', '{}', 0, false, :c)"
        ), {"c": old})  # fmt: skip

    await _sync(pg_database, seed)
    await upgrade(pg_database)

    def inspect(conn: Connection) -> dict[str, Any]:
        return {
            "partitioned": partitions.is_partitioned(conn, "events"),
            "names": [p.name for p in partitions.partitions(conn, "events")],
            "row": conn.execute(text("SELECT tableoid::regclass::text FROM events")).scalar(),
            "fk": conn.execute(text(
                "SELECT count(*) FROM pg_constraint WHERE conname = "
                "'fk_webhook_deliveries_event_id_events'"
            )).scalar(),
        }  # fmt: skip

    found = await _sync(pg_database, inspect)
    assert found["partitioned"]
    assert found["row"] == "events_p202609"  # the old row sits in its month
    assert "events_default" in found["names"]
    assert found["fk"] == 0


async def test_the_gateway_writes_into_partitions_and_retention_drops_months(
    pg_database: str, make_instance: Any, tmp_path: Path
) -> None:
    await upgrade(pg_database)
    gateway = await make_instance(make_settings(pg_database, tmp_path, event_retention_days=30))
    merchant = await sign_up(gateway.client)
    await merchant.create_intent()
    events = (await merchant.get("/v1/events")).json()["data"]
    assert events  # written through the partitioned parent, listed through it

    def maintain(conn: Connection) -> partitions.Maintenance:
        return partitions.maintain(conn, retention_days=30, now=NOW)

    def names(conn: Connection) -> list[str]:
        return [p.name for p in partitions.partitions(conn, "events")]

    def age(conn: Connection) -> None:  # make one event three months old
        partitions.create_month(conn, "events", datetime(2027, 3, 1, tzinfo=UTC))
        conn.execute(
            text("UPDATE events SET created = :c WHERE id = :id"),
            {"c": int(datetime(2027, 3, 10, tzinfo=UTC).timestamp()), "id": events[-1]["id"]},
        )

    await _sync(pg_database, age)
    done = await _sync(pg_database, maintain)
    assert {"events_p202706", "events_p202707", "events_p202708"} <= set(await _sync(
        pg_database, names
    ))  # fmt: skip
    assert "events_p202703" in done.dropped  # ended 2027-04-01, before the 30-day window
    assert "events_p202703" not in await _sync(pg_database, names)
    assert events[-1]["id"] not in {e["id"] for e in (await merchant.get("/v1/events")).json()[
        "data"
    ]}  # fmt: skip
    again = await _sync(pg_database, maintain)
    assert again.created == []
    assert again.dropped == []
    # the worker's step, on today's clock: only creates what is missing, drops nothing recent
    today = await maintain_partitions(gateway.gateway)
    assert not [n for n in today.dropped if n.endswith(f"{datetime.now(UTC):%Y%m}")]


async def test_sqlite_keeps_plain_tables(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'g.db'}"
    await upgrade(url)

    def check(conn: Connection) -> partitions.Maintenance:
        tables = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master"))}
        assert "events" in tables
        assert not [t for t in tables if t.startswith("events_p")]
        partitions.convert_to_partitioned(conn, "events")  # no-op
        return partitions.maintain(conn, retention_days=1, now=NOW)

    done = await _sync(url, check)
    assert (done.created, done.dropped) == ([], [])
