"""Each merchant's terms for new intents, cached (one query less per create).

Same lifetime as the auth cache (≤ 1 s) and dropped with it on every replica when access or an
account changes (`HttpContext.invalidate_auth`), so a new payout address applies at once.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.core.ttlcache import TTLCache
from sbtc_gateway.merchants import service
from sbtc_gateway.merchants.service import MerchantTerms


class MerchantTermsCache:
    def __init__(self, ttl_seconds: float) -> None:
        self.cache: TTLCache[str, MerchantTerms] = TTLCache(ttl_seconds, 10_000)

    async def get(self, session: AsyncSession, merchant_id: str) -> MerchantTerms:
        hit, cached = self.cache.get(merchant_id)
        if hit and cached is not None:
            return cached
        found = await service.terms(session, merchant_id)
        self.cache.set(merchant_id, found)
        return found

    def forget(self) -> None:
        self.cache.clear()
