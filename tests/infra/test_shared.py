"""The shared-state interfaces: one scenario file run against both implementations, then Redis
outages (a real redis-server started and stopped here) and recovery."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
import structlog

from sbtc_gateway.infra.base import sliding_window
from sbtc_gateway.infra.local import LocalCache, LocalRateLimiter
from sbtc_gateway.infra.shared import SharedState, build_shared_state
from sbtc_gateway.observability import metrics
from tests.conftest import IN_CI, free_port


@pytest_asyncio.fixture(params=["local", "redis"])
async def shared(request: pytest.FixtureRequest) -> AsyncIterator[SharedState]:
    if request.param == "local":
        state = build_shared_state(None)
    else:
        redis_url = request.getfixturevalue("redis_url")
        prefix = request.getfixturevalue("redis_prefix")
        state = build_shared_state(redis_url, key_prefix=prefix)
    try:
        yield state
    finally:
        await state.close()


async def test_rate_limit_allows_up_to_the_limit_then_refuses(shared: SharedState) -> None:
    results = [await shared.limiter.hit("k1", 5, 60) for _ in range(7)]
    assert [r.allowed for r in results] == [True] * 5 + [False] * 2
    assert [r.remaining for r in results[:5]] == [4, 3, 2, 1, 0]
    refused = results[-1]
    assert refused.remaining == 0
    assert refused.retry_after >= 1
    assert 1 <= refused.reset_seconds <= 60
    # other keys are counted apart
    assert (await shared.limiter.hit("k2", 5, 60)).allowed


async def test_nonce_is_single_use(shared: SharedState) -> None:
    assert await shared.nonces.claim("nonce-aaaaaaaaaaaa", 60)
    assert not await shared.nonces.claim("nonce-aaaaaaaaaaaa", 60)
    assert await shared.nonces.claim("nonce-bbbbbbbbbbbb", 60)


async def test_cache_entry_stored_before_an_invalidation_is_stale(shared: SharedState) -> None:
    cache = shared.cache("things")
    first = await cache.get("a", "v:a")
    assert first.value is None
    await cache.set("a", first.stamp, b"old", 30)
    assert (await cache.get("a", "v:a")).value == b"old"

    # A reader loads old data, then a writer commits and invalidates, then the reader stores.
    racing = await cache.get("b", "v:b")
    await cache.invalidate("v:b")
    await cache.set("b", racing.stamp, b"stale", 30)
    assert (await cache.get("b", "v:b")).value is None

    await cache.invalidate("v:a")
    assert (await cache.get("a", "v:a")).value is None


async def test_pubsub_delivers_to_subscribers(shared: SharedState) -> None:
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def handler(message: bytes) -> None:
        await received.put(message)

    shared.pubsub.subscribe("chan", handler)
    await shared.pubsub.start()
    ready = getattr(shared.pubsub, "ready", None)
    if ready is not None:
        await asyncio.wait_for(ready.wait(), 10)
    await shared.pubsub.publish("chan", b"hello")
    assert await asyncio.wait_for(received.get(), 10) == b"hello"


def test_sliding_window_weights_the_previous_window() -> None:
    # 10 used in the previous minute, 20 s into this one: 10 * 40/60 ≈ 6.7 still count.
    result = sliding_window(prev=10, curr=3, elapsed=20, window=60, limit=10, allowed=True)
    assert result.remaining == 0  # 10 - 6.67 - 3 = 0.33 → 0
    refused = sliding_window(prev=10, curr=3, elapsed=20, window=60, limit=10, allowed=False)
    # one more fits once 10 * (60 - 20 - t)/60 <= 6, i.e. t >= 4 s
    assert refused.retry_after == 4


async def test_local_rate_limiter_forgets_idle_keys() -> None:
    limiter = LocalRateLimiter(max_keys=3)
    for i in range(10):
        assert (await limiter.hit(f"k{i}", 1, 60)).allowed
    assert len(limiter._windows) <= 3


async def test_local_cache_is_bounded() -> None:
    cache = LocalCache("x", max_items=2)
    for key in "abc":
        read = await cache.get(key, key)
        await cache.set(key, read.stamp, key.encode(), 30)
    assert (await cache.get("a", "a")).value is None
    assert (await cache.get("c", "c")).value == b"c"


# --- outages -------------------------------------------------------------------------------


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
