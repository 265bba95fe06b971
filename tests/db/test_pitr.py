"""Continuous WAL archiving and point-in-time recovery on a throwaway PostgreSQL cluster.

The gateway writes payment intents all along; a base backup is taken while it writes; a moment
T is noted between two writes; more writes follow. `restore --to-time T` into a fresh cluster
gives back every intent acknowledged before T and none written after it, and the same API key
lists them on a gateway started on the restored database. Then the primary is lost without
warning (`pg_ctl stop -m immediate`, its own WAL never read again) and `restore --latest`
rebuilds what the archive holds: the intents recovered are a prefix of those written (nothing
in between missing), and the measured RPO and RTO are printed beside the objectives (RPO 15
min, RTO 4 h). The daily restore check passes and its metrics are exported.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic.script import ScriptDirectory

from sbtc_gateway.db.migrate import alembic_config, upgrade
from sbtc_gateway.db.verify import verify_latest
from sbtc_gateway.observability import metrics
from sbtc_gateway.runtime.operations import export_recovery_metrics
from tests.conftest import IN_CI, make_settings, sign_up
from tests.db import pg_cluster

RPO_OBJECTIVE_S = 15 * 60
RTO_OBJECTIVE_S = 4 * 3600


@pytest.fixture
def workdir() -> Iterator[Path]:
    reason = pg_cluster.available()
    if reason:
        if IN_CI:
            pytest.fail(f"point-in-time recovery needs PostgreSQL's server binaries: {reason}")
        pytest.skip(reason)
    path = pg_cluster.workdir()
    clusters: list[Path] = []
    yield path
    for data in [path / "primary", *path.glob("restored-*")]:
        if (data / "postmaster.pid").exists():
            pg_cluster.Cluster(data, 0).stop("immediate")
    del clusters
    shutil.rmtree(path, ignore_errors=True)


def _cli(*args: str, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "sbtc_gateway.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


async def _wait_archived(dsn: str) -> None:
    """Switch to a new segment and wait until the one holding every write so far is archived."""
    conn = await asyncpg.connect(dsn)
    try:
        segment = await conn.fetchval("SELECT pg_walfile_name(pg_switch_wal())")
        for _ in range(600):
            last = await conn.fetchval("SELECT last_archived_wal FROM pg_stat_archiver")
            if last is not None and last >= segment:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{segment} was not archived")
    finally:
        await conn.close()


async def _ids(url: str) -> set[str]:
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        return {r["id"] for r in await conn.fetch("SELECT id FROM payment_intents")}
    finally:
        await conn.close()


async def _listed(merchant: Any) -> set[str]:
    seen: set[str] = set()
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = (await merchant.get("/v1/payment_intents", params)).json()
        seen |= {pi["id"] for pi in page["data"]}
        if not page["has_more"]:
            return seen
        params["starting_after"] = page["data"][-1]["id"]


async def test_point_in_time_recovery(workdir: Path, make_instance: Any) -> None:
    archive, backups = workdir / "wal", workdir / "base"
    backups.mkdir()
    primary = pg_cluster.new_cluster(workdir, archive)
    admin = await asyncpg.connect(primary.admin_dsn)
    await admin.execute("CREATE DATABASE gateway")
    await admin.close()
    url = primary.url("gateway")
    await upgrade(url)
    settings = make_settings(url, workdir / "data", db_pool_size=4)
    gateway = await make_instance(settings)
    merchant = await sign_up(gateway.client)
    written: list[tuple[str, float]] = []  # (intent id, acknowledged at)

    async def write(n: int) -> None:
        for _ in range(n):
            body = await merchant.create_intent(amount=10_000 + len(written))
            written.append((body["id"], time.time()))

    await write(10)
    env = {"SBTC_DATABASE_URL": url, "SBTC_DATA_DIR": str(workdir / "cli"),
           "SBTC_BACKUP_DIR": str(backups), "SBTC_WAL_ARCHIVE": str(archive)}  # fmt: skip
    # the base backup runs while the gateway goes on writing
    backing_up = asyncio.create_task(asyncio.to_thread(_cli, "backup", "--base", env=env))
    while not backing_up.done():
        await write(1)
    base = await backing_up
    assert base["revision"] == ScriptDirectory.from_config(alembic_config("")).get_current_head()
    await write(10)
    moment = time.time()
    before_t = {pi for pi, acked in written}
    await write(10)
    after_t = {pi for pi, _ in written} - before_t
    await _wait_archived(primary.admin_dsn)

    # the daily restore check, and what the worker exports of it
    check = await verify_latest(url, backups, str(archive), workdir)
    assert check.ok, check.error
    assert check.rows["payment_intents"] >= base["rows"]["payment_intents"]
    await export_recovery_metrics(gateway.gateway)
    assert metrics.BACKUP_VERIFICATION_OK._value.get() == 1
    assert metrics.BACKUP_VERIFIED._value.get() > 0
    assert metrics.WAL_ARCHIVE_FAILING._value.get() == 0

    # 1. to the moment T, into a fresh cluster
    target = workdir / "restored-pitr"
    port = pg_cluster.free_port()
    to_time = datetime.fromtimestamp(moment, UTC).isoformat()
    # beside a primary that still runs: the copy's new timeline stays out of the archive
    restored = _cli("restore", "--to-time", to_time, "--target-dir", str(target), "--start",
                    "--port", str(port), "--no-archive", env=env)  # fmt: skip
    restored_url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/gateway"
    present = await _ids(restored_url)
    assert before_t <= present, f"missing: {before_t - present}"
    assert not (after_t & present), f"written after T yet restored: {after_t & present}"
    again = await make_instance(make_settings(restored_url, workdir / "data2", db_pool_size=2))
    merchant.client = again.client
    assert await _listed(merchant) == before_t  # the same key, on the restored database
    pg_cluster.Cluster(target, port).stop()
    merchant.client = gateway.client

    # 2. the primary is lost while the gateway writes (about 3 s of writes, at most 400)
    until = time.monotonic() + 3
    for _ in range(400):
        await write(1)
        if time.monotonic() > until:
            break
    lost_at = time.time()
    primary.stop("immediate")
    target = workdir / "restored-latest"
    port = pg_cluster.free_port()
    began = time.monotonic()
    latest = _cli("restore", "--latest", "--target-dir", str(target), "--start", "--port",
                  str(port), env=env)  # fmt: skip
    rto = time.monotonic() - began
    present = await _ids(f"postgresql+asyncpg://postgres@127.0.0.1:{port}/gateway")
    order = [pi for pi, _ in written]
    recovered = [pi for pi in order if pi in present]
    assert recovered == order[: len(recovered)], "a write is missing before a recovered one"
    assert before_t | after_t <= present  # everything before the last forced archive switch
    lost = [acked for pi, acked in written if pi not in present]
    rpo = lost_at - min(lost) if lost else 0.0  # how far back the loss reaches
    print(
        f"\nPITR on PostgreSQL {primary.port}: base backup {base['label']} while writing; "
        f"restore to T: {len(before_t)} of {len(before_t)} intents before T back, 0 of "
        f"{len(after_t)} after T; unpack {restored['unpacked_seconds']:.2f} s, ready (replay "
        f"+ promote) {restored['ready_seconds']:.2f} s. Loss of the primary: "
        f"{len(recovered)} of {len(order)} intents recovered ({len(lost)} written in the last "
        f"moments lost), measured RPO {rpo:.2f} s "
        f"(archive_timeout 1 s here; objective {RPO_OBJECTIVE_S} s), measured RTO "
        f"{rto:.2f} s for the command, {latest['ready_seconds']:.2f} s to a promoted "
        f"server (objective {RTO_OBJECTIVE_S} s); daily check restore "
        f"{check.restore_seconds:.2f} s"
    )
    pg_cluster.Cluster(target, port).stop()
