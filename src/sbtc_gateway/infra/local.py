"""In-process implementations: exact for one process, the fallback when Redis is away."""

from __future__ import annotations

import time
from collections import OrderedDict, defaultdict

import structlog

from sbtc_gateway.infra.base import CacheRead, Handler, RateLimitResult, sliding_window

log = structlog.get_logger(__name__)


class LocalCache:
    def __init__(self, name: str, max_items: int = 10_000) -> None:
        self.name = name
        self.max_items = max_items
        self._items: OrderedDict[str, tuple[float, str, bytes]] = OrderedDict()
        self._versions: dict[str, int] = {}

    def _version(self, version_key: str) -> str:
        return str(self._versions.get(version_key, 0))

    async def get(self, key: str, version_key: str) -> CacheRead:
        stamp = self._version(version_key)
        entry = self._items.get(key)
        if entry is None:
            return CacheRead(None, stamp)
        expires, stored_stamp, value = entry
        if expires < time.monotonic() or stored_stamp != stamp:
            self._items.pop(key, None)
            return CacheRead(None, stamp)
        return CacheRead(value, stamp)

    async def set(self, key: str, stamp: str, value: bytes, ttl_seconds: float) -> None:
        if ttl_seconds <= 0:
            return
        self._items[key] = (time.monotonic() + ttl_seconds, stamp, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)

    async def invalidate(self, *version_keys: str) -> None:
        for version_key in version_keys:
            self._versions[version_key] = self._versions.get(version_key, 0) + 1
        if len(self._versions) > self.max_items * 4:
            # Old versions only matter for entries still cached; dropping them all is safe
            # together with the entries.
            self._versions.clear()
            self._items.clear()

    def clear(self) -> None:
        self._items.clear()
        self._versions.clear()


class LocalRateLimiter:
    """Sliding-window counter (the previous window weighted by its overlap), per key."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._windows: dict[str, list[int]] = {}  # key -> [window index, prev, curr]

    async def hit(self, key: str, limit: int, window_seconds: int) -> RateLimitResult:
        now = time.time()
        index = int(now // window_seconds)
        elapsed = now - index * window_seconds
        state = self._windows.get(key)
        if state is None:
            if len(self._windows) >= self.max_keys:
                self._prune(index)
            state = self._windows[key] = [index, 0, 0]
        if state[0] != index:
            state[1] = state[2] if state[0] == index - 1 else 0
            state[2] = 0
            state[0] = index
        prev, curr = state[1], state[2]
        allowed = prev * (window_seconds - elapsed) / window_seconds + curr + 1 <= limit
        if allowed:
            state[2] = curr = curr + 1
        return sliding_window(prev, curr, elapsed, window_seconds, limit, allowed)

    def _prune(self, index: int) -> None:
        stale = [k for k, v in self._windows.items() if v[0] < index - 1]
        for k in stale:
            del self._windows[k]
        if len(self._windows) >= self.max_keys:
            self._windows.clear()


class LocalNonceStore:
    def __init__(self, max_items: int = 200_000) -> None:
        self.max_items = max_items
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def claim(self, nonce: str, ttl_seconds: int) -> bool:
        now = time.monotonic()
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > now and len(self._seen) < self.max_items:
                break
            del self._seen[oldest]
        seen = self._seen.get(nonce)
        if seen is not None and seen > now:
            return False
        self._seen[nonce] = now + ttl_seconds
        self._seen.move_to_end(nonce)
        return True


class LocalPubSub:
    """Delivers to this process's subscribers, before `publish` returns."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, channel: str, handler: Handler) -> None:
        self._handlers[channel].append(handler)

    async def publish(self, channel: str, message: bytes) -> None:
        for handler in self._handlers.get(channel, []):
            await _run_handler(handler, message, channel)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


async def _run_handler(handler: Handler, message: bytes, channel: str) -> None:
    try:
        await handler(message)
    except Exception:
        log.exception("pub/sub handler failed", channel=channel)
