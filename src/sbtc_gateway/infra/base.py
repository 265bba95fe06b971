"""The interfaces (protocols) and their small value types."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

Handler = Callable[[bytes], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RateLimitResult:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the current window ends
    retry_after: int  # seconds until one more request would be allowed (0 if allowed)


@dataclass(frozen=True, slots=True)
class CacheRead:
    """A cached value (or None) and the stamp to store a fresh value under after a miss."""

    value: bytes | None
    stamp: str


class Cache(Protocol):
    """A versioned cache: `invalidate(version_key)` makes every entry read before it stale.

    Readers `get` (value + stamp), and on a miss load the value and `set` it with that stamp; an
    entry whose stamp no longer matches the current version is a miss. A writer calls
    `invalidate` after its commit: a reader that loaded old data before the commit stores it
    under the old stamp, which nobody accepts any more.
    """

    name: str

    async def get(self, key: str, version_key: str) -> CacheRead: ...

    async def set(self, key: str, stamp: str, value: bytes, ttl_seconds: float) -> None: ...

    async def invalidate(self, *version_keys: str) -> None: ...


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int) -> RateLimitResult: ...


class NonceStore(Protocol):
    async def claim(self, nonce: str, ttl_seconds: int) -> bool:
        """True the first time a nonce is seen within `ttl_seconds`, False afterwards."""
        ...


class PubSub(Protocol):
    async def publish(self, channel: str, message: bytes) -> None: ...

    def subscribe(self, channel: str, handler: Handler) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


def sliding_window(
    prev: float, curr: float, elapsed: float, window: float, limit: int, allowed: bool
) -> RateLimitResult:
    """Headers for a sliding-window counter: prev window weighted by the part still inside.

    `curr` includes this request when it was allowed. Shared by both implementations so their
    answers agree.
    """
    weight = (window - elapsed) / window
    used = prev * weight + curr
    remaining = max(0, math.floor(limit - used))
    reset = max(1, math.ceil(window - elapsed))
    if allowed:
        return RateLimitResult(True, limit, remaining, reset, 0)
    if curr + 1 <= limit and prev > 0:
        # wait until the previous window's share has shrunk enough for one more request
        wait = window * (1 - (limit - curr - 1) / prev) - elapsed
    else:
        # wait for the next window, then for this window's share to shrink
        wait = (window - elapsed) + (window * (1 - (limit - 1) / curr) if curr else 0)
    return RateLimitResult(False, limit, 0, reset, max(1, math.ceil(wait)))
