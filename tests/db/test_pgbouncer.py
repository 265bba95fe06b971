"""The gateway through PgBouncer in transaction pooling mode (Debian's package, with
deploy/pgbouncer/pgbouncer.ini's settings): three replicas whose pools could open 45 client
connections share a handful of server connections, and every kind of transaction still works —
sign-up, creates with and without an Idempotency-Key (replays included), updates under row
locks, cancels, webhook endpoints, lists, and the worker's periodic jobs and outbox claims."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from sbtc_gateway.db.migrate import upgrade
from sbtc_gateway.runtime.worker import run_once
from tests.conftest import IN_CI, PG_ADMIN_URL, _pg_admin, _pg_reachable, _pg_url, make_settings
from tests.conftest import sign_up as sign_up_merchant
from tests.db.pgbouncer_run import deploy_settings, pgbouncer_binary, run_pgbouncer

REPLICAS = 3
POOL = 10  # each replica: 10 + 5 overflow client connections to PgBouncer
SERVER_LIMIT = 4  # PgBouncer's max_db_connections in this test
REQUESTS = 90


def _require() -> None:
    if pgbouncer_binary() is None:
        if IN_CI:
            pytest.fail("pgbouncer is required in CI: scripts/ensure-debian-tool pgbouncer")
        pytest.skip("pgbouncer is not installed (scripts/ensure-debian-tool pgbouncer)")
    if not _pg_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (required in CI)")
        pytest.skip("PostgreSQL is not reachable")


@pytest_asyncio.fixture
async def database() -> AsyncIterator[str]:
    _require()
    name = f"sbtc_pgbouncer_{secrets.token_hex(4)}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        await upgrade(_pg_url(name))  # migrations connect directly: DDL wants a session
        yield name
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_deploy_file_pools_transactions() -> None:
    settings = deploy_settings()["pgbouncer"]
    assert settings["pool_mode"] == "transaction"
    assert "lock_timeout" in deploy_settings()["databases"]["gateway"]


async def _server_connections(database: str) -> int:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        value = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database
        )
        return int(value)
    finally:
        await conn.close()


async def test_the_gateway_works_through_pgbouncer_with_bounded_connections(
    database: str, make_instance: Any, tmp_path: Path
) -> None:
    with run_pgbouncer(database, pool_size=SERVER_LIMIT, max_db_connections=SERVER_LIMIT) as pgb:
        url = pgb.url()
        replicas = [
            await make_instance(
                make_settings(url, tmp_path / f"r{i}", db_pgbouncer=True, db_pool_size=POOL)
            )
            for i in range(REPLICAS)
        ]
        merchant = await sign_up_merchant(replicas[0].client)

        # the lock timeout reaches the server without a startup parameter (connect_query)
        async with replicas[0].gateway.engine.connect() as conn:
            from sqlalchemy import text

            assert (await conn.execute(text("SHOW lock_timeout"))).scalar() == "2s"

        peak = {"servers": 0, "clients": 0}
        done = asyncio.Event()

        async def sample() -> None:
            while not done.is_set():
                peak["servers"] = max(peak["servers"], await _server_connections(database))
                pools = await asyncio.to_thread(pgb.admin, "SHOW POOLS")
                clients = sum(
                    int(p["cl_active"]) + int(p["cl_waiting"])
                    for p in pools
                    if p["database"] == pgb.alias
                )
                peak["clients"] = max(peak["clients"], clients)
                await asyncio.sleep(0.02)

        async def create(i: int) -> dict[str, Any]:
            merchant.client = replicas[i % REPLICAS].client
            headers = {"Idempotency-Key": f"pgb-{i // 2}"} if i % 3 == 0 else {}
            response = await merchant.post(
                "/v1/payment_intents",
                {"amount": 10_000 + (i // 2 if headers else i), "currency": "sbtc"},
                **headers,
            )
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            return body

        sampler = asyncio.create_task(sample())
        created = await asyncio.gather(*(create(i) for i in range(REQUESTS)))
        done.set()
        await sampler

        ids = {pi["id"] for pi in created}
        keyed = {i // 2 for i in range(REQUESTS) if i % 3 == 0}
        unkeyed = [i for i in range(REQUESTS) if i % 3 != 0]
        assert len(ids) == len(keyed) + len(unkeyed)  # a replayed key gave the same intent

        # row locks and the events outbox through the pooler, on every replica
        for n, pi in enumerate(sorted(ids)[:6]):
            client = replicas[n % REPLICAS].client
            merchant.client = client
            updated = await merchant.post(f"/v1/payment_intents/{pi}", {"description": f"#{n}"})
            assert updated.status_code == 200, updated.text
            canceled = await merchant.post(f"/v1/payment_intents/{pi}/cancel")
            assert canceled.json()["status"] == "canceled"
        hook = await merchant.post(
            "/v1/webhook_endpoints", {"url": "https://example.com/hook", "enabled_events[]": "*"}
        )
        assert hook.status_code == 200, hook.text
        listed = await merchant.get("/v1/payment_intents", {"limit": 100})
        assert {pi["id"] for pi in listed.json()["data"]} == ids
        events = await merchant.get("/v1/events", {"limit": 100})
        assert events.status_code == 200
        jobs = await run_once(replicas[1].gateway)  # the worker's transactions, pooled too
        assert jobs["expired_intents"] >= 0

        pools = [p for p in pgb.admin("SHOW POOLS") if p["database"] == pgb.alias]
        servers_now = await _server_connections(database)
        client_limit = REPLICAS * (POOL + POOL // 2)
        print(
            f"\nPgBouncer transaction pooling, {REPLICAS} replicas x pool {POOL}+{POOL // 2} "
            f"(could open {client_limit} connections), {REQUESTS} concurrent creates: "
            f"peak {peak['clients']} client connections at PgBouncer, peak "
            f"{peak['servers']} server connections at PostgreSQL (limit max_db_connections="
            f"{SERVER_LIMIT}), {servers_now} after the run; pool now: "
            + ", ".join(f"{k}={pools[0][k]}" for k in ("cl_active", "sv_active", "sv_idle"))
        )
        assert peak["servers"] <= SERVER_LIMIT
        assert servers_now <= SERVER_LIMIT
        assert peak["clients"] > SERVER_LIMIT  # more clients than servers: the pooler shared


async def test_without_the_setting_pgbouncer_refuses_the_connection(
    database: str, tmp_path: Path
) -> None:
    """What SBTC_DB_PGBOUNCER is for: the plain engine sends lock_timeout at start-up, which
    PgBouncer refuses."""
    from sqlalchemy import text

    from sbtc_gateway.db.engine import make_engine

    with run_pgbouncer(database, pool_size=2, max_db_connections=2) as pgb:
        plain = make_engine(pgb.url(), pool_size=1, lock_timeout_ms=2000)
        try:
            with pytest.raises(Exception, match="lock_timeout"):
                async with plain.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        finally:
            await plain.dispose()
        pooled = make_engine(pgb.url(), pool_size=1, lock_timeout_ms=2000, pgbouncer=True)
        try:
            for _ in range(3):  # the same statement, prepared again on a shared server conn
                async with pooled.begin() as conn:
                    assert (await conn.execute(text("SELECT 1"))).scalar() == 1
        finally:
            await pooled.dispose()
