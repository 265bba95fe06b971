"""Redis implementations (redis.asyncio), each falling back to its in-process twin.

`RedisHealth` is shared by all of them: the first failure marks Redis degraded (one warning in
the logs, `sbtc_redis_degraded` = 1); while degraded, calls go straight to the fallbacks and
Redis is probed again at most once per `probe_seconds`; the first success after that marks it
healthy again (one info line, gauge back to 0). Short socket timeouts keep a dead Redis from
holding requests up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from sbtc_gateway.infra.base import CacheRead, Handler, RateLimitResult, sliding_window
from sbtc_gateway.infra.local import LocalNonceStore, LocalPubSub, LocalRateLimiter, _run_handler
from sbtc_gateway.observability import metrics

log = structlog.get_logger(__name__)

FAILURES = (RedisError, OSError, asyncio.TimeoutError)

# Sliding-window counter in one round trip, on Redis's clock (replicas' clocks do not matter).
# KEYS[1] = key prefix; ARGV = limit, window (ms). Returns {allowed, prev, curr, elapsed_ms}.
RATE_LIMIT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local index = math.floor(now / window)
local elapsed = now - index * window
local curr_key = KEYS[1] .. ':' .. index
local prev = tonumber(redis.call('GET', KEYS[1] .. ':' .. (index - 1)) or '0')
local curr = tonumber(redis.call('GET', curr_key) or '0')
local allowed = 0
if prev * (window - elapsed) / window + curr + 1 <= limit then
  curr = redis.call('INCR', curr_key)
  redis.call('PEXPIRE', curr_key, window * 2)
  allowed = 1
end
return {allowed, prev, curr, elapsed}
"""


class RedisHealth:
    def __init__(self, probe_seconds: float = 1.0) -> None:
        self.probe_seconds = probe_seconds
        self.degraded = False
        self._next_probe = 0.0
        self.recoveries = 0  # bumped on each recovery: caches use it to forget entries

    def should_try(self) -> bool:
        if not self.degraded:
            return True
        now = time.monotonic()
        if now >= self._next_probe:
            self._next_probe = now + self.probe_seconds
            return True
        return False

    def ok(self) -> bool:
        """Record a success; True if this ends a degradation."""
        if not self.degraded:
            return False
        self.degraded = False
        self.recoveries += 1
        metrics.REDIS_DEGRADED.set(0)
        log.info("redis reachable again: shared state back in use")
        return True

    def failed(self, operation: str, exc: BaseException) -> None:
        metrics.REDIS_ERRORS.labels(operation).inc()
        if not self.degraded:
            self.degraded = True
            self._next_probe = time.monotonic() + self.probe_seconds
            metrics.REDIS_DEGRADED.set(1)
            log.warning(
                "redis unreachable: using in-process fallbacks",
                operation=operation,
                error=type(exc).__name__,
            )


class RedisConnection:
    """One client (with its pool) and its health, shared by every Redis implementation."""

    def __init__(self, url: str, *, prefix: str, timeout: float = 0.25) -> None:
        self.client: Redis = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30
        )
        self.url = url
        self.prefix = prefix
        self.health = RedisHealth()

    async def ping(self) -> bool:
        try:
            await self.client.ping()
        except FAILURES as exc:
            self.health.failed("ping", exc)
            return False
        self.health.ok()
        return True

    async def close(self) -> None:
        await self.client.aclose()


class RedisCache:
    """Entries `stamp|value` beside a version counter per object; a global epoch is bumped
    after a Redis outage, because invalidations during the outage were lost. While degraded
    the cache is bypassed (a local copy could not be invalidated by other replicas)."""

    def __init__(self, conn: RedisConnection, name: str) -> None:
        self.conn = conn
        self.name = name
        self._epoch_key = f"{conn.prefix}cache-epoch"
        self._seen_recoveries = 0

    def _k(self, key: str) -> str:
        return f"{self.conn.prefix}c:{self.name}:{key}"

    def _v(self, version_key: str) -> str:
        return f"{self.conn.prefix}v:{version_key}"

    async def _sync_epoch(self) -> bool:
        """After an outage (seen by any user of the connection), bump the epoch once."""
        self.conn.health.ok()
        if self.conn.health.recoveries == self._seen_recoveries:
            return False
        self._seen_recoveries = self.conn.health.recoveries
        await self.conn.client.incr(self._epoch_key)
        return True

    async def get(self, key: str, version_key: str) -> CacheRead:
        if not self.conn.health.should_try():
            return CacheRead(None, "")
        try:
            epoch, version, raw = await self.conn.client.mget(
                self._epoch_key, self._v(version_key), self._k(key)
            )
            if await self._sync_epoch():
                return CacheRead(None, "")
        except FAILURES as exc:
            self.conn.health.failed("cache_get", exc)
            return CacheRead(None, "")
        stamp = f"{int(epoch or 0)}.{int(version or 0)}"
        if raw is None:
            return CacheRead(None, stamp)
        raw_bytes = raw if isinstance(raw, bytes) else str(raw).encode()
        stored, _, value = raw_bytes.partition(b"|")
        return CacheRead(value if stored.decode() == stamp else None, stamp)

    async def set(self, key: str, stamp: str, value: bytes, ttl_seconds: float) -> None:
        if not stamp or ttl_seconds <= 0 or self.conn.health.degraded:
            return
        try:
            await self.conn.client.set(
                self._k(key), stamp.encode() + b"|" + value, px=int(ttl_seconds * 1000)
            )
        except FAILURES as exc:
            self.conn.health.failed("cache_set", exc)

    async def invalidate(self, *version_keys: str) -> None:
        if not version_keys:
            return
        try:
            async with self.conn.client.pipeline(transaction=False) as pipe:
                for version_key in version_keys:
                    pipe.incr(self._v(version_key))
                    pipe.expire(self._v(version_key), 24 * 3600)
                await pipe.execute()
            await self._sync_epoch()
        except FAILURES as exc:
            # Lost: the epoch bump on recovery makes every entry written before it stale.
            self.conn.health.failed("cache_invalidate", exc)


class RedisRateLimiter:
    def __init__(self, conn: RedisConnection, fallback: LocalRateLimiter | None = None) -> None:
        self.conn = conn
        self.fallback = fallback or LocalRateLimiter()
        self._script = conn.client.register_script(RATE_LIMIT_LUA)

    async def hit(self, key: str, limit: int, window_seconds: int) -> RateLimitResult:
        if self.conn.health.should_try():
            try:
                allowed, prev, curr, elapsed_ms = await self._script(
                    keys=[f"{self.conn.prefix}rl:{{{key}}}"], args=[limit, window_seconds * 1000]
                )
                self.conn.health.ok()
                return sliding_window(
                    float(prev), float(curr), elapsed_ms / 1000, window_seconds, limit, allowed == 1
                )
            except FAILURES as exc:
                self.conn.health.failed("rate_limit", exc)
        return await self.fallback.hit(key, limit, window_seconds)


class RedisNonceStore:
    """SET NX with a TTL: a nonce is single-use across every replica. While Redis is away,
    nonces are single-use per replica (the timestamp window still bounds replays)."""

    def __init__(self, conn: RedisConnection, fallback: LocalNonceStore | None = None) -> None:
        self.conn = conn
        self.fallback = fallback or LocalNonceStore()

    async def claim(self, nonce: str, ttl_seconds: int) -> bool:
        # Always remember locally too, so a nonce claimed before an outage stays spent here.
        local = await self.fallback.claim(nonce, ttl_seconds)
        if self.conn.health.should_try():
            try:
                fresh = await self.conn.client.set(
                    f"{self.conn.prefix}nonce:{nonce}", b"1", nx=True, ex=ttl_seconds
                )
                self.conn.health.ok()
                return bool(fresh) and local
            except FAILURES as exc:
                self.conn.health.failed("nonce", exc)
        return local


class RedisPubSub:
    """Publishes to Redis; a background task listens and re-subscribes after outages. While
    Redis is away, messages still reach this process's own subscribers."""

    def __init__(self, conn: RedisConnection) -> None:
        self.conn = conn
        self.local = LocalPubSub()
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()  # set once subscribed (tests wait on it)

    def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers[self.conn.prefix + channel].append(handler)
        self.local.subscribe(channel, handler)

    async def publish(self, channel: str, message: bytes) -> None:
        if self.conn.health.should_try():
            try:
                await self.conn.client.publish(self.conn.prefix + channel, message)
                self.conn.health.ok()
                return  # our own listener delivers it to this process too
            except FAILURES as exc:
                self.conn.health.failed("publish", exc)
        await self.local.publish(channel, message)

    async def start(self) -> None:
        if self._handlers and self._task is None:
            self._task = asyncio.create_task(self._listen())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _listen(self) -> None:
        while True:
            pubsub: Any = self.conn.client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*self._handlers)
                self.ready.set()
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    channel = message["channel"]
                    channel = channel.decode() if isinstance(channel, bytes) else channel
                    for handler in self._handlers.get(channel, []):
                        await _run_handler(handler, bytes(message["data"]), channel)
            except asyncio.CancelledError:
                raise
            except FAILURES as exc:
                self.ready.clear()
                self.conn.health.failed("subscribe", exc)
                await asyncio.sleep(self.conn.health.probe_seconds)
            finally:
                with contextlib.suppress(*FAILURES):
                    await pubsub.aclose()
