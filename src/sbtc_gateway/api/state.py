"""Everything a request needs, built once at start-up and kept on `app.state.gateway`."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sbtc_gateway.config import Settings
from sbtc_gateway.core.ttlcache import TTLCache
from sbtc_gateway.merchants.service import AuthenticatedKey
from sbtc_gateway.payments.service import PaymentSettings


@dataclass
class GatewayState:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    payments: PaymentSettings
    key_secret: str
    auth_cache: TTLCache[str, AuthenticatedKey | None] = field(
        default_factory=lambda: TTLCache(1.0, 10_000)
    )
