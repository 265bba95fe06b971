"""Redis outages (`infra/redis_backend.py`): a real redis-server started and stopped here; the
in-process fallback while it is away, and recovery."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest
import structlog

from sbtc_gateway.infra.shared import build_shared_state
from sbtc_gateway.observability import metrics
from tests.conftest import IN_CI, free_port


class RedisServer:
    """A throwaway redis-server on a loopback port, which the test stops and restarts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        cli = shutil.which("redis-cli")
        for _ in range(200):
            if (
                cli
                and subprocess.run(
                    [cli, "-p", str(self.port), "ping"], capture_output=True
                ).stdout.strip()
                == b"PONG"
            ):
                return
            subprocess.run(["sleep", "0.05"])
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    if not shutil.which("redis-server") or not shutil.which("redis-cli"):
        if IN_CI:
            pytest.fail("redis-server is needed for the outage tests (required in CI)")
        pytest.skip("redis-server is not installed")
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_redis_outage_falls_back_and_recovers(redis_server: RedisServer) -> None:
    shared = build_shared_state(redis_server.url, key_prefix="outage:")
    assert shared.redis is not None
    shared.redis.health.probe_seconds = 0  # probe on every call: no waiting in the test
    cache = shared.cache("things")
    try:
        assert (await shared.limiter.hit("k", 2, 60)).allowed
        read = await cache.get("a", "v:a")
        await cache.set("a", read.stamp, b"cached", 30)
        assert (await cache.get("a", "v:a")).value == b"cached"
        assert await shared.redis_status() == "up"

        redis_server.stop()
        with structlog.testing.capture_logs() as logs:
            # limits keep working, from the in-process fallback
            assert (await shared.limiter.hit("k", 2, 60)).allowed
            assert (await shared.limiter.hit("k", 2, 60)).allowed
            assert not (await shared.limiter.hit("k", 2, 60)).allowed
            # the cache is bypassed; nonces are still single-use on this replica
            assert (await cache.get("a", "v:a")).value is None
            assert await shared.nonces.claim("n-0123456789abcdef", 60)
            assert not await shared.nonces.claim("n-0123456789abcdef", 60)
            # a write during the outage cannot invalidate in Redis
            await cache.invalidate("v:a")
            assert await shared.redis_status() == "down"
        assert shared.redis.health.degraded
        assert metrics.REDIS_DEGRADED._value.get() == 1
        warnings = [e for e in logs if e["log_level"] == "warning"]
        assert len(warnings) == 1  # said once, not per call
        assert "redis unreachable" in warnings[0]["event"]

        redis_server.start()  # an empty Redis again, on the same port
        with structlog.testing.capture_logs() as logs:
            assert await shared.redis_status() == "up"
        assert not shared.redis.health.degraded
        assert metrics.REDIS_DEGRADED._value.get() == 0
        assert any("reachable again" in e["event"] for e in logs)
        # Redis is used again: its counter starts afresh, unlike the local fallback's
        assert (await shared.limiter.hit("k", 2, 60)).allowed
        # entries written before the outage are not trusted after it
        read = await cache.get("a", "v:a")
        assert read.value is None
    finally:
        await shared.close()


async def test_stale_entry_from_before_an_outage_is_not_served(
    redis_server: RedisServer,
) -> None:
    """Redis survives a network outage with its data; invalidations sent during it are lost,
    so the first replica to see Redis again bumps the cache epoch."""
    shared = build_shared_state(redis_server.url, key_prefix="epoch:")
    assert shared.redis is not None
    shared.redis.health.probe_seconds = 0
    cache = shared.cache("things")
    try:
        read = await cache.get("a", "v:a")
        await cache.set("a", read.stamp, b"before", 30)
        # simulate a lost invalidation: mark degraded as a failed call would
        shared.redis.health.failed("cache_invalidate", OSError("lost"))
        assert (await cache.get("a", "v:a")).value is None  # recovers, bumps the epoch
        assert (await cache.get("a", "v:a")).value is None
        fresh = await cache.get("a", "v:a")
        await cache.set("a", fresh.stamp, b"after", 30)
        assert (await cache.get("a", "v:a")).value == b"after"
    finally:
        await shared.close()
