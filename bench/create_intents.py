"""Benchmark: PaymentIntent creation throughput and latency against a real database.

Starts the gateway (uvicorn, N worker processes) on a fresh database, signs up a merchant, and
drives `POST /v1/payment_intents` with wrk: each request authenticates a secret key, inserts the
intent and its `payment_intent.created` event in one transaction, and (by default) carries a
unique Idempotency-Key as the Stripe SDKs do, which adds the idempotency row. Afterwards it checks
the database: every 200 must have exactly one intent and one event.

    python -m bench.create_intents                      # PostgreSQL, 2 workers, 32 connections
    python -m bench.create_intents --workers 1 --connections 64 --duration 20
    python -m bench.create_intents --database sqlite --workers 1
    python -m bench.create_intents --no-idempotency
    SBTC_REDIS_URL=redis://127.0.0.1:6379/0 python -m bench.create_intents   # shared limiter
    SBTC_RATE_LIMIT_ENABLED=false python -m bench.create_intents             # without limiter

Needs wrk (Debian package `wrk`; `scripts/ensure-debian-tool wrk` installs it if missing and we
are root).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ADDRESS = "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG"
ROOT = Path(__file__).resolve().parent.parent

LUA = r"""
counter = 0
request = function()
  counter = counter + 1
  local headers = {}
  headers["Authorization"] = "Bearer __KEY__"
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  if __IDEMPOTENCY__ then
    headers["Idempotency-Key"] = string.format("bench-%s-%d", tostring(headers):sub(8), counter)
  end
  local body = "amount=" .. (25000 + counter % 1000) ..
    "&currency=sbtc&description=Bench%20order&metadata[order_id]=" .. counter
  return wrk.format("POST", "/v1/payment_intents", headers, body)
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if not found:  # as root (or with sudo), from Debian's packages
        subprocess.run([str(ROOT / "scripts" / "ensure-debian-tool"), "wrk"], check=True)
        found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is needed: apt-get install wrk")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def count_rows(url: str) -> tuple[int, int]:
    from sqlalchemy import text

    from sbtc_gateway.db.engine import make_engine

    engine = make_engine(url)
    # One statement, one snapshot: an intent and its event commit together, so they must agree.
    query = text(
        "SELECT (SELECT count(*) FROM payment_intents), "
        "(SELECT count(*) FROM events WHERE type = 'payment_intent.created')"
    )
    async with engine.connect() as conn:
        intents, events = (await conn.execute(query)).one()
    await engine.dispose()
    return int(intents), int(events)


def rss_kib(root_pid: int) -> int:
    """Resident memory of a process and all its descendants, in KiB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+)", status)
        total += int(match.group(1)) if match else 0
    return total


def parse_wrk(output: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for label, pattern in {
        "req/s": r"Requests/sec:\s+([\d.]+)",
        "p50": r"\s50%\s+([\d.]+\w+)",
        "p90": r"\s90%\s+([\d.]+\w+)",
        "p99": r"\s99%\s+([\d.]+\w+)",
        "requests": r"(\d+) requests in",
        "non-2xx": r"Non-2xx or 3xx responses: (\d+)",
        "socket errors": r"Socket errors: (.*)",
    }.items():
        match = re.search(pattern, output)
        found[label] = match.group(1) if match else "0"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duration", type=int, default=15, help="seconds")
    parser.add_argument("--no-idempotency", action="store_true")
    args = parser.parse_args()
    wrk = ensure_wrk()

    tmp = Path(tempfile.mkdtemp(prefix="sbtc-bench-"))
    dbname = f"sbtc_bench_{secrets.token_hex(4)}"
    if args.database == "postgres":
        asyncio.run(pg(f'CREATE DATABASE "{dbname}"'))
        url = (
            PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            + f"/{dbname}"
        )
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    from sbtc_gateway.db.migrate import upgrade

    asyncio.run(upgrade(url))
    port = free_port()
    env = {
        **os.environ,
        "SBTC_DATABASE_URL": url,
        "SBTC_DATA_DIR": str(tmp),
        "SBTC_API_KEY_SECRET": secrets.token_hex(32),
        "SBTC_GATEWAY_SIGNING_KEY": secrets.token_hex(32),
        "SBTC_DB_POOL_SIZE": str(max(4, args.connections // max(args.workers, 1))),
        "SBTC_LOG_LEVEL": "WARNING",
        # The limiter still runs (its cost is measured) but must not refuse the benchmark.
        "SBTC_RATE_LIMIT_PER_MINUTE": os.environ.get("SBTC_RATE_LIMIT_PER_MINUTE", "100000000"),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "sbtc_gateway.runtime.asgi:app", "--host", "127.0.0.1",
         "--port", str(port), "--workers", str(args.workers), "--log-level", "warning",
         "--no-access-log"],
        env=env,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                sys.exit("gateway did not start")
            time.sleep(0.1)
        merchant = httpx.post(
            f"{base}/v1/merchants",
            data={
                "business_name": "Bench",
                "email": "bench@example.com",
                "stacks_address": ADDRESS,
            },
        ).json()
        script = tmp / "create.lua"
        script.write_text(
            LUA.replace("__KEY__", merchant["secret_key"]).replace(
                "__IDEMPOTENCY__", "false" if args.no_idempotency else "true"
            )
        )
        # Warm up the pools and caches, then measure.
        subprocess.run(
            [wrk, "-t1", "-c4", "-d2s", "-s", str(script), base], capture_output=True, check=True
        )
        before = asyncio.run(count_rows(url))
        command = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
                   "--latency", "-s", str(script), base]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        memory = rss_kib(server.pid)
        time.sleep(1)
        after = asyncio.run(count_rows(url))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if args.database == "postgres":
            asyncio.run(pg(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        shutil.rmtree(tmp, ignore_errors=True)

    figures = parse_wrk(result.stdout)
    ok = int(figures["requests"]) - int(figures["non-2xx"])
    created = after[0] - before[0]
    events = after[1] - before[1]
    print("create PaymentIntent benchmark")
    print(f"  command     : python -m bench.create_intents {' '.join(sys.argv[1:])}".rstrip())
    print(
        f"  load        : {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(command))}"
    )
    print(f"  machine     : {os.cpu_count()} cores; gateway and wrk share them")
    print(f"  database    : {args.database}; uvicorn workers: {args.workers}; "
          f"idempotency keys: {'no' if args.no_idempotency else 'yes'}")  # fmt: skip
    print(f"  throughput  : {figures['req/s']} intents/s")
    print(f"  latency     : p50 {figures['p50']}  p90 {figures['p90']}  p99 {figures['p99']}")
    print(f"  requests    : {figures['requests']} ({figures['non-2xx']} non-2xx, "
          f"socket errors: {figures['socket errors']})")  # fmt: skip
    print(f"  server RSS  : {memory / 1024:.0f} MiB (all worker processes)")
    print(f"  consistency : {created} intents and {events} events written for {ok} successful "
          f"responses -> {'OK' if created == events >= ok else 'MISMATCH'}")  # fmt: skip


if __name__ == "__main__":
    main()
