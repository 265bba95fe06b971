"""Benchmark: CPU cost per request of the gateway's edge (middleware + rate limit + metrics).

Drives the real app in-process through ASGI (no sockets) with an authenticated request to a
no-op route, and compares three stacks:

    baseline  : only StripeHeadersMiddleware (the edge before the gateway layer)
    local     : the full edge, in-process limiter (the embedded default)
    redis     : the full edge, limiter on Redis (one Lua round trip per request)

It reports process CPU time per request (robust on a loaded machine) and wall time per request
(includes the Redis round trip). `python -m bench.edge_overhead [--requests 5000]`; the redis
row needs TEST_REDIS_URL or redis://127.0.0.1:6379/0 reachable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from pydantic import SecretStr
from starlette.responses import Response

from sbtc_gateway.api.auth import authenticate
from sbtc_gateway.api.deps import gateway
from sbtc_gateway.api.middleware import StripeHeadersMiddleware
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.config import Settings
from sbtc_gateway.db.migrate import upgrade
from sbtc_gateway.runtime.app import create_app

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def noop(request: Request) -> Response:
    await authenticate(request, gateway(request))
    return json_response({"ok": True})


async def run(stack: str, settings: Settings, key: str, n: int) -> Result:
    app = create_app(settings)
    app.add_api_route("/v1/bench-noop", noop, methods=["GET"])
    if stack == "baseline":
        app.user_middleware = [m for m in app.user_middleware if m.cls is StripeHeadersMiddleware]
    scope_base = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/bench-noop",
        "raw_path": b"/v1/bench-noop",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {key}".encode())],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "app": app,
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
        elif message["type"] == "http.response.body" and statuses and statuses[-1] != 200:
            raise RuntimeError(message.get("body", b"").decode())

    async with app.router.lifespan_context(app):
        for _ in range(200):  # warm up: auth cache, limiter script, pools
            await app(dict(scope_base), receive, send)
        statuses.clear()
        durations: list[float] = []
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(n):
            started = time.perf_counter()
            await app(dict(scope_base), receive, send)
            durations.append(time.perf_counter() - started)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert set(statuses) == {200}, set(statuses)
    durations.sort()
    p50, p99 = durations[len(durations) // 2], durations[int(len(durations) * 0.99)]
    return Result(cpu / n * 1e6, wall / n * 1e6, p50 * 1e6, p99 * 1e6)


@dataclass(frozen=True)
class Result:
    """Microseconds per request: process CPU, mean wall, median and 99th percentile wall."""

    cpu: float
    wall: float
    p50: float
    p99: float

    def best(self, other: Result | None) -> Result:
        if other is None:
            return self
        return Result(*(min(a, b) for a, b in zip(astuple(self), astuple(other), strict=True)))


async def sign_up(settings: Settings) -> str:
    import httpx

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            response = await client.post(
                "/v1/merchants",
                data={
                    "business_name": "Bench",
                    "email": f"bench-{secrets.token_hex(4)}@example.com",
                    "stacks_address": "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG",
                },
            )
            key: str = response.json()["secret_key"]
            return key


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'gw.db'}"
        await upgrade(url)
        base = Settings(
            database_url=url,
            data_dir=Path(tmp),
            api_key_secret=SecretStr("b" * 40),
            gateway_signing_key=SecretStr("11" * 32),
            rate_limit_per_minute=100_000_000,
            log_level="WARNING",
        )
        from sbtc_gateway.core.logging import configure_logging

        configure_logging("WARNING")
        key = await sign_up(base)
        stacks = {
            "baseline": base,
            "local": base,
            "redis": base.model_copy(
                update={"redis_url": REDIS, "redis_key_prefix": f"bench-{secrets.token_hex(4)}:"}
            ),
        }
        load = os.getloadavg()[0]
        print(f"edge overhead, {args.requests} authenticated GETs to a no-op route, best of "
              f"{args.rounds}; machine: {os.cpu_count()} cores, load {load:.1f}")  # fmt: skip
        results: dict[str, Result] = {}
        for _ in range(args.rounds):
            for name, settings in stacks.items():
                results[name] = (await run(name, settings, key, args.requests)).best(
                    results.get(name)
                )
        base_cpu = results["baseline"].cpu
        for name, r in results.items():
            extra = r.cpu - base_cpu
            print(f"  {name:9s} CPU {r.cpu:7.1f} µs/request (+{extra:5.1f})   wall mean "
                  f"{r.wall:7.1f} µs  p50 {r.p50:7.1f} µs  p99 {r.p99:7.1f} µs")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
