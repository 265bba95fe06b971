"""Benchmark: the analytics rollup's throughput and each analytics endpoint's latency, for one
merchant with many payments, on PostgreSQL (or SQLite).

Writes N paid payments' events (created, requires_action, charge.pending, charge.succeeded,
payment_intent.succeeded: five each, spread over `--days`) and their ledger rows by bulk insert,
then lets the worker's consumer fold them in (events per second, beside the rate at which the
same events were inserted, measured in this run), checks one day against the ledger, and times
every `/v1/analytics/*` endpoint in-process (p50/p99 over `--requests` calls, beside the p50/p99
of a bare `SELECT 1` on the same pool).

    python -m bench.analytics                              # PostgreSQL, 20,000 payments
    python -m bench.analytics --payments 1000000 --days 365
    python -m bench.analytics --database sqlite --payments 5000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select, text

from sbtc_gateway.analytics.models import DailyMetrics
from sbtc_gateway.core.ids import new_id
from sbtc_gateway.db.migrate import upgrade
from sbtc_gateway.events.models import Event
from sbtc_gateway.ledger.models import BalanceTransaction
from sbtc_gateway.runtime.app import create_app
from sbtc_gateway.runtime.worker import consume_analytics
from tests.conftest import make_settings, sign_up

PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DAY = 86_400


def _events(merchant: str, i: int, t: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    pi, ch = f"pi_b{i:024d}", f"ch_b{i:024d}"
    amount = 10_000 + (i * 7919) % 90_000
    payer = f"STPAYER{i % 5000:05d}"
    intent = {"id": pi, "object": "payment_intent", "amount": amount, "created": t,
              "metadata": {}, "sbtc": {"payer": None}, "amount_received": 0}  # fmt: skip
    paid = {**intent, "status": "succeeded", "amount_received": amount, "sbtc": {"payer": payer}}
    charge = {"id": ch, "object": "charge", "amount": amount, "payment_intent": pi,
              "payment_method_details": {"sbtc": {"payer": payer}}}  # fmt: skip
    rows = []
    for k, (type_, obj, dt) in enumerate([
        ("payment_intent.created", {**intent, "status": "requires_payment_method"}, 0),
        ("payment_intent.requires_action", {**intent, "status": "requires_action"}, 20),
        ("charge.pending", {**charge, "status": "pending"}, 60),
        ("charge.succeeded", {**charge, "status": "succeeded"}, 60 + i % 600),
        ("payment_intent.succeeded", paid, 61 + i % 600),
    ]):  # fmt: skip
        rows.append({"id": f"evt_b{i:022d}{k}", "merchant_id": merchant, "livemode": False,
                     "type": type_, "object_id": obj["id"], "data": {"object": obj},
                     "created": t + dt, "pending_webhooks": 0, "fanout_pending": False,
                     "analytics_pending": True})  # fmt: skip
    fee = amount // 100
    ledger = {"id": new_id("txn"), "merchant_id": merchant, "livemode": False,
              "account": "merchant", "type": "charge", "reporting_category": "charge",
              "amount": amount, "fee": fee, "net": amount - fee, "fee_details": [],
              "currency": "sbtc", "source_id": ch, "sequence": 1, "status": "available",
              "available_on": t + 60, "created": t + 60 + i % 600}  # fmt: skip
    return rows, ledger


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def _database(kind: str) -> tuple[str, Any]:
    if kind == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.db"
        return f"sqlite+aiosqlite:///{path}", None
    import asyncpg

    name = f"sbtc_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)

    async def drop() -> None:
        c = await asyncpg.connect(PG_ADMIN)
        await c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await c.close()

    return f"{base}/{name}", drop


async def main(args: argparse.Namespace) -> None:
    url, drop = await _database(args.database)
    try:
        await upgrade(url)
        settings = make_settings(url, Path(tempfile.mkdtemp()), analytics_batch_size=args.batch)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            gw = app.state.gateway
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                shop = await sign_up(client)
                await consume_analytics(gw)
                end = int(time.time()) // DAY * DAY
                start = end - args.days * DAY
                step = (args.days * DAY) / args.payments
                inserted = time.perf_counter()
                for low in range(0, args.payments, 2000):
                    events, ledger = [], []
                    for i in range(low, min(low + 2000, args.payments)):
                        rows, row = _events(shop.id, i, start + int(i * step))
                        events += rows
                        ledger.append(row)
                    async with gw.sessions.begin() as session:
                        await session.execute(insert(Event), events)
                        await session.execute(insert(BalanceTransaction), ledger)
                inserted = time.perf_counter() - inserted
                n_events = args.payments * 5
                folded = time.perf_counter()
                consumed = await consume_analytics(gw)
                folded = time.perf_counter() - folded
                print(
                    f"database {args.database}: {args.payments} payments, {n_events} events "
                    f"over {args.days} days"
                )
                rate, limit = consumed / folded, n_events / inserted
                print(f"rollup: {consumed} events in {folded:.1f} s = {rate:,.0f} events/s")
                print(f"  (limit, same run: inserting them ran at {limit:,.0f} events/s)")
                async with gw.sessions() as session:
                    gross = await session.scalar(
                        select(func.sum(DailyMetrics.gross)).where(
                            DailyMetrics.merchant_id == shop.id
                        )
                    )
                    ledger_gross = await session.scalar(
                        select(func.sum(BalanceTransaction.amount)).where(
                            BalanceTransaction.merchant_id == shop.id
                        )
                    )
                assert gross == ledger_gross, (gross, ledger_gross)
                print(f"check: Σ daily_metrics.gross = Σ ledger = {gross}")
                floor: list[float] = []
                for _ in range(args.requests):
                    t = time.perf_counter()
                    async with gw.analytics_sessions() as session:
                        await session.execute(text("SELECT 1"))
                    floor.append((time.perf_counter() - t) * 1000)
                print(
                    f"{'SELECT 1 (floor)':<40} p50 {pct(floor, 0.5):8.1f} ms  "
                    f"p99 {pct(floor, 0.99):8.1f} ms"
                )
                month = {"start": end - 30 * DAY, "end": end}
                year = {"start": start, "end": end}
                ny = {**year, "metric": "gross_volume", "timezone": "America/New_York"}
                h30 = {"horizon_days": 30}
                cases = [
                    ("summary 30 d", "/v1/analytics/summary", month),
                    ("summary all", "/v1/analytics/summary", year),
                    ("timeseries day all, New York", "/v1/analytics/timeseries", ny),
                    ("conversion 30 d", "/v1/analytics/conversion", month),
                    ("conversion all", "/v1/analytics/conversion", year),
                    ("customers 30 d", "/v1/analytics/customers", month),
                    ("realtime", "/v1/analytics/realtime", {}),
                    ("projections 30 (cached after 1st)", "/v1/analytics/projections", h30),
                    ("benchmarks", "/v1/analytics/benchmarks", {}),
                ]  # fmt: skip
                for name, path, params in cases:
                    times = []
                    for _ in range(
                        args.requests if "all" not in name else max(3, args.requests // 5)
                    ):
                        t = time.perf_counter()
                        response = await shop.get(path, params)
                        times.append((time.perf_counter() - t) * 1000)
                        assert response.status_code == 200, response.text
                    print(
                        f"{name:<40} p50 {pct(times, 0.5):8.1f} ms  p99 {pct(times, 0.99):8.1f} ms"
                    )
    finally:
        if drop is not None:
            await drop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--payments", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=50)
    asyncio.run(main(parser.parse_args()))
