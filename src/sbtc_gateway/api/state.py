"""Everything a request needs, built once at start-up and kept on `app.state.gateway`."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sbtc_gateway.config import Settings
from sbtc_gateway.core import crypto
from sbtc_gateway.core.ttlcache import TTLCache
from sbtc_gateway.events.service import committed_events
from sbtc_gateway.infra.shared import SharedState, build_shared_state
from sbtc_gateway.merchants import service as merchants
from sbtc_gateway.merchants.service import AuthenticatedKey, MerchantTerms
from sbtc_gateway.observability import metrics
from sbtc_gateway.payments.cache import IntentCache
from sbtc_gateway.payments.service import PaymentSettings
from sbtc_gateway.users.repository import SessionState
from sbtc_gateway.users.tokens import TokenSigner

AUTH_CHANNEL = "auth-invalidate"


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
    shared: SharedState = field(default_factory=lambda: build_shared_state(None))
    intent_cache: IntentCache | None = None
    # Dashboard access tokens: the signer, and each session's state (user alive, role, session
    # not revoked) cached like API keys: ≤ 1 s, dropped on `invalidate_auth`.
    tokens: TokenSigner | None = None
    session_cache: TTLCache[str, SessionState | None] = field(
        default_factory=lambda: TTLCache(1.0, 10_000)
    )
    # Each merchant's payout addresses, tier and expiry for new intents (one query less per
    # create); same lifetime and invalidation as the auth cache.
    merchant_cache: TTLCache[str, MerchantTerms] = field(
        default_factory=lambda: TTLCache(1.0, 10_000)
    )

    def __post_init__(self) -> None:
        if self.intent_cache is None:
            self.intent_cache = IntentCache(
                self.shared.cache("payment_intents"), self.settings.intent_cache_seconds
            )
        self.shared.pubsub.subscribe(AUTH_CHANNEL, self._on_auth_invalidate)

    async def _on_auth_invalidate(self, message: bytes) -> None:
        self.auth_cache.clear()
        self.session_cache.clear()
        self.merchant_cache.clear()

    async def invalidate_auth(self) -> None:
        """A key was rotated or revoked, or a user session ended: this replica forgets at once,
        the others when the pub/sub message arrives (and within the cache TTL, ≤ 1 s, if it
        never does). Also when an account changes (its payout address, say)."""
        self.auth_cache.clear()
        self.session_cache.clear()
        self.merchant_cache.clear()
        await self.shared.pubsub.publish(AUTH_CHANNEL, b"*")

    async def merchant_terms(self, session: AsyncSession, merchant_id: str) -> MerchantTerms:
        hit, cached = self.merchant_cache.get(merchant_id)
        if hit and cached is not None:
            return cached
        found = await merchants.terms(session, merchant_id)
        self.merchant_cache.set(merchant_id, found)
        return found

    async def after_commit(self, session: AsyncSession) -> None:
        """Call once a transaction has committed: drop cached copies of what it changed and
        count its events."""
        await self.intents.after_commit(session)
        for event in committed_events(session):
            metrics.EVENTS.labels(event.type).inc()
            if not event.type.startswith("payment_intent.") or not event.status:
                continue
            mode = "true" if event.livemode else "false"
            metrics.PAYMENT_INTENTS.labels(event.status, mode).inc()
            if event.type == "payment_intent.succeeded" and isinstance(event.amount, int):
                metrics.PAYMENT_VOLUME.labels(mode).inc(event.amount)
                metrics.PAYMENT_AMOUNT.observe(event.amount)

    @cached_property
    def keyring(self) -> crypto.Keyring:
        """The keyring for data at rest (SBTC_ENCRYPTION_KEYS): stored idempotent responses are
        sealed with it (`api/mutation.py` hands it to `idempotency.service`)."""
        return crypto.keyring(self.settings.keyring_keys())

    @property
    def signer(self) -> TokenSigner:
        assert self.tokens is not None, "build_state sets the token signer"
        return self.tokens

    @property
    def intents(self) -> IntentCache:
        assert self.intent_cache is not None
        return self.intent_cache
