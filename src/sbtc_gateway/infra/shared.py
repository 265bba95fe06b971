"""Build the shared-state implementations from settings: Redis when a URL is set."""

from __future__ import annotations

from dataclasses import dataclass, field

from sbtc_gateway.infra.base import Cache, NonceStore, PubSub, RateLimiter
from sbtc_gateway.infra.local import LocalCache, LocalNonceStore, LocalPubSub, LocalRateLimiter
from sbtc_gateway.infra.redis_backend import (
    RedisCache,
    RedisConnection,
    RedisNonceStore,
    RedisPubSub,
    RedisRateLimiter,
)


@dataclass
class SharedState:
    limiter: RateLimiter
    nonces: NonceStore
    pubsub: PubSub
    redis: RedisConnection | None = None
    caches: dict[str, Cache] = field(default_factory=dict)

    def cache(self, name: str) -> Cache:
        if name not in self.caches:
            self.caches[name] = (
                RedisCache(self.redis, name) if self.redis is not None else LocalCache(name)
            )
        return self.caches[name]

    async def redis_status(self) -> str:
        """`disabled` (in-process), `up` or `down`."""
        if self.redis is None:
            return "disabled"
        return "up" if await self.redis.ping() else "down"

    async def start(self) -> None:
        await self.pubsub.start()

    async def close(self) -> None:
        await self.pubsub.close()
        if self.redis is not None:
            await self.redis.close()


def build_shared_state(redis_url: str | None, *, key_prefix: str = "sbtc:") -> SharedState:
    if not redis_url:
        return SharedState(LocalRateLimiter(), LocalNonceStore(), LocalPubSub())
    conn = RedisConnection(redis_url, prefix=key_prefix)
    return SharedState(RedisRateLimiter(conn), RedisNonceStore(conn), RedisPubSub(conn), redis=conn)
