"""The payment-intent read cache and the record of which intents a transaction changed.

Every change to an intent goes through `service._touch`, which notes its id on the session;
whoever owns the transaction calls `IntentCache.after_commit(session)` once it has committed
(the API's write boundary and the worker do). Entries are rendered intents, keyed by merchant,
mode and id, versioned per intent (see `infra.base.Cache`), and short-lived
(`SBTC_INTENT_CACHE_SECONDS`) as a backstop for a writer that forgot.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from sbtc_gateway.infra.base import Cache, CacheRead
from sbtc_gateway.observability import metrics

CHANGED = "sbtc.changed_payment_intents"


def note_changed(session: Session | None, intent_id: str) -> None:
    if session is not None:
        session.info.setdefault(CHANGED, set()).add(intent_id)


def _version_key(intent_id: str) -> str:
    return f"pi:{intent_id}"


class IntentCache:
    def __init__(self, cache: Cache, ttl_seconds: float) -> None:
        self.cache = cache
        self.ttl = ttl_seconds

    @staticmethod
    def _key(merchant_id: str, livemode: bool, intent_id: str) -> str:
        return f"{merchant_id}:{int(livemode)}:{intent_id}"

    async def get(
        self, merchant_id: str, livemode: bool, intent_id: str
    ) -> tuple[dict[str, Any] | None, CacheRead]:
        if self.ttl <= 0:
            return None, CacheRead(None, "")
        read = await self.cache.get(
            self._key(merchant_id, livemode, intent_id), _version_key(intent_id)
        )
        metrics.CACHE_REQUESTS.labels("payment_intents", "hit" if read.value else "miss").inc()
        return (orjson.loads(read.value) if read.value else None), read

    async def put(
        self, read: CacheRead, merchant_id: str, livemode: bool, obj: dict[str, Any]
    ) -> None:
        if self.ttl <= 0:
            return
        key = self._key(merchant_id, livemode, obj["id"])
        await self.cache.set(key, read.stamp, orjson.dumps(obj), self.ttl)

    async def after_commit(self, session: AsyncSession) -> None:
        changed: set[str] = session.info.pop(CHANGED, set())
        if changed:
            await self.cache.invalidate(*(_version_key(i) for i in changed))
