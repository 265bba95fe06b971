"""No secret in plain text at rest, none in any log line (cross-cutting: the whole gateway, so it
stays at the top of tests/).

A full run of the gateway at DEBUG (`tests/secret_scan_run.py`, in a child process with the
production logging configuration) on a database of its own, for each backend and each renderer
(JSON lines in production, the console for `sbtc-gateway dev`): sign-up with a
password, a key rotation, a webhook endpoint (all three with an Idempotency-Key, as the SDKs
send), signed requests, a PaymentIntent created, confirmed and retrieved with the publishable key
and its client secret, a dashboard login and refresh, webhooks delivered to a local receiver and
an unhandled database error. Then every row of every table is dumped and every line the process
wrote is read, and none may contain any secret the run was handed or sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from sbtc_gateway.db.engine import make_engine
from sbtc_gateway.db.migrate import upgrade
from tests.conftest import IN_CI, _pg_admin, _pg_reachable, _pg_url

ROOT = Path(__file__).resolve().parent.parent
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")

pytestmark = pytest.mark.skipif(
    not os.environ.get("STACKS_DEVNET_URL"), reason="confirm reads the devnet's tip"
)


@dataclass(frozen=True)
class Scan:
    renderer: str  # "json" (production) or "console" (`sbtc-gateway dev`)
    found: dict[str, list[str]]  # what the run was handed or sent, by kind
    logs: str  # everything the process wrote
    rows: str  # every row of every table


async def _dump(url: str) -> str:
    engine = make_engine(url)
    lines: list[str] = []
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            for table in sorted(tables):
                result = await conn.execute(text(f'SELECT * FROM "{table}"'))
                for row in result.mappings():
                    cells = [f"{name}={_cell(value)}" for name, value in row.items()]
                    lines.append(f"{table}: " + " ".join(cells))
    finally:
        await engine.dispose()
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


@pytest.fixture(
    scope="module", params=["sqlite-json", "sqlite-console", "postgres-json", "postgres-console"]
)
def scan(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scan]:
    dialect, renderer = request.param.split("-")
    tmp = tmp_path_factory.mktemp(f"scan-{request.param}")
    dbname = f"sbtc_scan_{secrets.token_hex(4)}"
    if dialect == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp / 'gateway.db'}"
    else:
        if not _pg_reachable():
            if IN_CI:
                pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (required in CI)")
            pytest.skip("PostgreSQL is not reachable")
        asyncio.run(_pg_admin(f'CREATE DATABASE "{dbname}"'))
        url = _pg_url(dbname)
    try:
        asyncio.run(upgrade(url))
        out = tmp / "found.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.secret_scan_run",
                url,
                str(tmp / "data"),
                str(out),
                renderer,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-5000:] + done.stdout[-5000:]
        found = json.loads(out.read_text())
        yield Scan(renderer, found, done.stdout + done.stderr, asyncio.run(_dump(url)))
    finally:
        if dialect == "postgres":
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))


def _hits(scan: Scan, where: str, kinds: Collection[str]) -> list[str]:
    """`kind #n in <where>` for each value found, with the tables (or loggers) holding it."""
    lines = (scan.logs if where == "logs" else scan.rows).splitlines()
    hits = []
    for kind, values in scan.found.items():
        if kind not in kinds:
            continue
        for n, value in enumerate(values):
            holders = sorted({_holder(line, where) for line in lines if value in line})
            if holders:
                hits.append(f"{kind} #{n} in {where}: {', '.join(holders)}")
    return hits


def _holder(line: str, where: str) -> str:
    if where == "database":
        return line.split(":", 1)[0]
    try:
        event = json.loads(line)
    except ValueError:
        return "a console line"
    return str(event.get("logger") or event.get("event"))


def test_the_run_logged_at_debug_and_stored_rows(scan: Scan) -> None:
    """The capture works: DEBUG lines, the unhandled error's traceback, the stored rows."""
    if scan.renderer == "json":
        lines = [json.loads(line) for line in scan.logs.splitlines()]  # nothing but JSON lines
        assert any(line.get("level") == "debug" for line in lines)
        unhandled = [e for e in lines if e["event"] == "unhandled error in write request"]
        assert unhandled
        assert all("IntegrityError" in e["exception"] for e in unhandled)
    else:
        assert "debug" in scan.logs
        assert "unhandled error in write request" in scan.logs
        assert "Traceback" in scan.logs
        assert "IntegrityError" in scan.logs
    for table in ("idempotency_keys", "api_keys", "users", "refresh_tokens", "webhook_attempts"):
        assert f"\n{table}: " in "\n" + scan.rows, table
    expected = {
        "password",
        "secret key",
        "publishable key",
        "signing secret",
        "Sbtc-Signature header",
        "webhook secret",
        "client secret",
        "terms signature",
        "access token",
        "refresh token",
        "Stripe-Signature header",
        "wrong key sent",
        "server secret",
    }
    assert set(scan.found) == expected


def test_no_secret_in_any_log_line(scan: Scan) -> None:
    assert _hits(scan, "logs", scan.found) == []
    # nor any other value of these shapes (the failed INSERT's client secret, say)
    shapes = ("_secret_", "sk_test_", "pk_test_", "sksig_", "whsec_", "Bearer ")
    assert [shape for shape in shapes if shape in scan.logs] == []
    # a JWT is `eyJ…` (base64 of `{"`) twice, joined by a dot; a bare `eyJ` also turns up by
    # chance inside random ids (request ids are base64url), which are not secrets
    jwts = [m.start() for m in JWT.finditer(scan.logs)]
    assert [scan.logs[max(0, at - 80) : at].rsplit("\n", 1)[-1] for at in jwts] == []


def test_no_secret_in_plain_text_in_the_database(scan: Scan) -> None:
    assert _hits(scan, "database", set(scan.found)) == []


def test_client_secrets_are_not_stored(scan: Scan) -> None:
    assert _hits(scan, "database", {"client secret"}) == []


def test_terms_signatures_are_not_stored(scan: Scan) -> None:
    assert _hits(scan, "database", {"terms signature"}) == []
