"""The shared-state interfaces (`infra/shared.py` builds them): one scenario file run against both
implementations. Outages and recovery: tests/infra/test_redis_backend.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from sbtc_gateway.infra.shared import SharedState, build_shared_state


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
