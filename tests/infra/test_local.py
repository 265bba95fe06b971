"""The in-process implementations (`infra/local.py`) stay bounded."""

from __future__ import annotations

from sbtc_gateway.infra.local import LocalCache, LocalRateLimiter


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
