"""Benchmark: webhook deliveries per second, and draining a backlog of 100,000 events.

Sets up a fresh database (SQLite file by default, or PostgreSQL), one merchant and one webhook
endpoint (`enabled_events=*`) pointing at a minimal keep-alive HTTP receiver that runs in its own
process on 127.0.0.1 and counts what it receives. Then, with the real delivery loop
(`webhooks.dispatcher.Dispatcher`, as `sbtc-gateway worker` runs it, in this process):

1. throughput: `--events-throughput` events (default 10,000) are inserted, the worker delivers
   them; deliveries/second = events / time until the last one is stored as delivered;
2. backlog: `--backlog` events (default 100,000) are inserted while no worker runs, then one
   worker starts; reported is the time until every delivery is stored as succeeded.

Both phases include the fan-out (event → delivery row), signing, the HTTP POST, and storing each
attempt. Afterwards the receiver's counts are compared with the events: lost (never received) must
be zero; duplicates (received more than once) are reported.

    python -m bench.webhooks_delivery                        # SQLite, 1 endpoint
    python -m bench.webhooks_delivery --database postgres    # PostgreSQL at 127.0.0.1:5432
    python -m bench.webhooks_delivery --backlog 20000 --endpoint-concurrency 16
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import func, insert, select

PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ADDRESS = "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG"


# --- the receiver (runs as `python -m bench.webhooks_delivery --receiver PORT`) -------------


class _ReceiverProtocol(asyncio.Protocol):
    stats: dict[str, Any] = {"requests": 0, "ids": set()}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            body, self.buffer = self.buffer[head_end + 4 : end], self.buffer[end:]
            if head.startswith("GET /stats"):
                ids: set[str] = self.stats["ids"]
                payload = json.dumps(
                    {"requests": self.stats["requests"], "unique": len(ids)}
                ).encode()
            else:
                self.stats["requests"] += 1
                start = body.find(b'"id":"') + 6
                self.stats["ids"].add(body[start : body.find(b'"', start)].decode())
                payload = b'{"ok":true}'
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(payload)).encode()
                + b"\r\n\r\n"
                + payload
            )


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_ReceiverProtocol, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


# --- the benchmark -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _insert_events(sessions: Any, merchant_id: str, template: dict[str, Any], n: int) -> None:
    from sbtc_gateway.core.ids import new_id
    from sbtc_gateway.events.models import Event

    now = int(time.time())
    for start in range(0, n, 5000):
        rows = []
        for _ in range(min(5000, n - start)):
            obj = {**template, "id": new_id("pi")}
            rows.append(
                {
                    "id": new_id("evt"),
                    "merchant_id": merchant_id,
                    "livemode": False,
                    "type": "payment_intent.succeeded",
                    "api_version": "2026-10-28.endive",
                    "object_id": obj["id"],
                    "data": {"object": obj},
                    "pending_webhooks": 0,
                    "fanout_pending": True,
                    "created": now,
                }
            )
        async with sessions.begin() as session:
            await session.execute(insert(Event), rows)


async def _stats(port: int) -> dict[str, int]:
    async with httpx.AsyncClient(trust_env=False) as client:
        data: dict[str, int] = (await client.get(f"http://127.0.0.1:{port}/stats")).json()
        return data


async def _drain(sessions: Any, settings: Any, endpoint_id: str, expected: int, new: int) -> float:
    from sbtc_gateway.webhooks.dispatcher import Dispatcher
    from sbtc_gateway.webhooks.models import WebhookDelivery as D

    stop = asyncio.Event()
    worker = Dispatcher(sessions, settings)
    cpu = time.process_time()
    started = time.perf_counter()
    task = asyncio.create_task(worker.run(stop))
    while True:
        await asyncio.sleep(0.25)
        async with sessions() as session:
            done = await session.scalar(
                select(func.count())
                .select_from(D)
                .where(D.endpoint_id == endpoint_id, D.status == "succeeded")
            )
        if int(done or 0) >= expected:
            break
        if task.done():
            task.result()
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    cpu = time.process_time() - cpu
    print(
        f"  worker process CPU: {cpu:.1f} s = {cpu * 1000 / new:.2f} ms per delivery "
        f"(wall {elapsed:.1f} s; load average now {os.getloadavg()[0]:.1f})"
    )
    return elapsed


async def run(args: argparse.Namespace) -> None:
    from sbtc_gateway.config import Settings
    from sbtc_gateway.core.crypto import generate_key_entry
    from sbtc_gateway.core.origin import SYSTEM
    from sbtc_gateway.core.principal import AuthenticatedKey
    from sbtc_gateway.db.engine import make_engine, make_sessionmaker
    from sbtc_gateway.db.migrate import upgrade
    from sbtc_gateway.events.models import Event
    from sbtc_gateway.merchants import service as merchants
    from sbtc_gateway.merchants.schemas import MerchantCreateParams
    from sbtc_gateway.payments.schemas import PaymentIntentCreateParams
    from sbtc_gateway.payments.service import PaymentSettings
    from sbtc_gateway.payments.service import create as create_intent
    from sbtc_gateway.webhooks import service as webhooks
    from sbtc_gateway.webhooks.schemas import WebhookEndpointCreateParams
    from sbtc_gateway.webhooks.settings import WebhookConfig

    tmp = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    dbname = None
    if args.database == "postgres":
        dbname = f"bench_webhooks_{secrets.token_hex(4)}"
        await _pg(f'CREATE DATABASE "{dbname}"')
        url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        url = f"{url}/{dbname}"
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'gateway.db'}"
    port = _free_port()
    receiver = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.webhooks_delivery", "--receiver", str(port)
    )
    try:
        await upgrade(url)
        settings = Settings(
            database_url=url,
            data_dir=tmp,
            api_key_secret=SecretStr("bench-" + "x" * 40),
            gateway_signing_key=SecretStr("11" * 32),
            webhook_encryption_keys=SecretStr(generate_key_entry("bench")),
            webhook_concurrency=args.concurrency,
            webhook_endpoint_concurrency=args.endpoint_concurrency,
            webhook_poll_interval_seconds=0.1,
            webhook_timeout_seconds=10,
        )
        engine = make_engine(url, pool_size=10)
        sessions = make_sessionmaker(engine)
        async with sessions.begin() as session:
            merchant, _keys = await merchants.register(
                session,
                MerchantCreateParams(
                    business_name="Bench", email=f"b{secrets.token_hex(4)}@x.io",
                    stacks_address=ADDRESS,
                ),
                key_secret="bench-" + "x" * 40,
            )  # fmt: skip
            caller = AuthenticatedKey("key_bench", merchant.id, False, "secret", None)
            endpoint, _ = await webhooks.create(
                session,
                WebhookConfig.from_settings(settings),
                caller,
                WebhookEndpointCreateParams(
                    url=f"http://127.0.0.1:{port}/hook", enabled_events=["*"]
                ),
            )
            pi = await create_intent(
                session,
                PaymentSettings(1000, 10**9, 1800, "devnet", "ST1.gw", None, "http://x"),
                caller,
                merchant,
                PaymentIntentCreateParams(amount=25_000, currency="sbtc"),
                SYSTEM,
            )
            from sbtc_gateway.payments.schemas import render_payment_intent

            template = render_payment_intent(pi)
        for _ in range(100):  # wait for the receiver process
            try:
                await _stats(port)
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
        template_bytes = len(json.dumps({"data": {"object": template}}))
        print(f"database: {args.database} ({url.split('://')[0]})")
        print(
            f"worker: 1 process, webhook_concurrency={args.concurrency}, "
            f"webhook_endpoint_concurrency={args.endpoint_concurrency}, 1 endpoint; "
            f"receiver: separate process on 127.0.0.1; event payload ≈ {template_bytes} bytes"
        )
        print(f"machine: {os.cpu_count()} CPUs (shared), Python {sys.version.split()[0]}")

        n1 = args.events_throughput
        await _insert_events(sessions, merchant.id, template, n1)
        # The created intent's own event is delivered too.
        t1 = await _drain(sessions, settings, endpoint.id, n1 + 1, n1 + 1)
        print(f"throughput: {n1 + 1} deliveries in {t1:.1f} s = {(n1 + 1) / t1:,.0f}/s")

        n2 = args.backlog
        t0 = time.perf_counter()
        await _insert_events(sessions, merchant.id, template, n2)
        print(f"backlog: inserted {n2:,} events in {time.perf_counter() - t0:.1f} s (no worker)")
        total = n1 + 1 + n2
        t2 = await _drain(sessions, settings, endpoint.id, total, n2)
        print(f"backlog: drained {n2:,} events in {t2:.1f} s = {n2 / t2:,.0f}/s")

        stats = await _stats(port)
        async with sessions() as session:
            ids = set((await session.scalars(select(Event.id))).all())
            pending = await session.scalar(select(func.sum(Event.pending_webhooks)))
        lost = len(ids) - stats["unique"]
        print(
            f"result: events={len(ids):,} received_unique={stats['unique']:,} "
            f"requests={stats['requests']:,} lost={lost} "
            f"duplicates={stats['requests'] - stats['unique']} "
            f"sum(pending_webhooks)={int(pending or 0)}"
        )
        async with sessions() as session:
            from sbtc_gateway.webhooks.models import WebhookAttempt as A

            errors = (
                await session.execute(
                    select(A.error, func.count()).where(A.succeeded.is_(False)).group_by(A.error)
                )
            ).all()
        for error, count in errors:
            print(f"failed attempts (retried): {count} × {error}")
        await engine.dispose()
        if lost:
            raise SystemExit("events were lost")
    finally:
        receiver.terminate()
        await receiver.wait()
        if dbname:
            await _pg(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--events-throughput", type=int, default=10_000)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--endpoint-concurrency", type=int, default=8)
    args = parser.parse_args()
    if args.receiver:
        asyncio.run(_serve(args.receiver))
        return
    print("command: python -m bench." + Path(__file__).stem + " " + " ".join(sys.argv[1:]))
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
