"""Everything the processes share, built once from the settings: `build_gateway`.

The API keeps it on `app.state.gateway` (and its `HttpContext` on `app.state.http`); the worker
and the watcher build the same object, so caches, metrics and the after-commit hook behave the
same in every process.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from sbtc_gateway.analytics.service import AnalyticsReader
from sbtc_gateway.api.context import HttpContext
from sbtc_gateway.chain import PrivateKey
from sbtc_gateway.config import Settings
from sbtc_gateway.core.crypto import Keyring
from sbtc_gateway.core.rsa_keys import generate_private_key_pem
from sbtc_gateway.db.engine import (
    ReadSession,
    make_engine,
    make_read_engine,
    make_read_sessionmaker,
    make_sessionmaker,
)
from sbtc_gateway.events import service as events
from sbtc_gateway.infra.shared import SharedState, build_shared_state
from sbtc_gateway.merchants.cache import MerchantTermsCache
from sbtc_gateway.payments.cache import IntentCache
from sbtc_gateway.payments.onchain import ChainTips
from sbtc_gateway.payments.service import PaymentSettings
from sbtc_gateway.reporting.service import ReportSettings
from sbtc_gateway.reporting.store import LocalFileStore
from sbtc_gateway.users.authentication import GatewayAuthenticator
from sbtc_gateway.users.tokens import TokenSigner


@dataclass
class Gateway:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    shared: SharedState
    payments: PaymentSettings
    intents: IntentCache
    merchant_terms: MerchantTermsCache
    signer: TokenSigner
    authenticator: GatewayAuthenticator
    http: HttpContext
    # Analytics reads: a read-only engine on SBTC_ANALYTICS_DATABASE_URL (a replica) or the
    # primary (ADR 0016).
    analytics_engine: AsyncEngine
    analytics_sessions: async_sessionmaker[ReadSession]
    reports: ReportSettings

    @property
    def key_secret(self) -> str:
        return self.settings.secret("api_key_secret")

    @property
    def keyring(self) -> Keyring:
        return self.http.keyring

    async def after_commit(self, session: AsyncSession) -> None:
        """Call once a transaction has committed: drop cached copies of what it changed and
        count its events. Every writer (API, worker, watcher) calls it."""
        await self.intents.after_commit(session)
        events.count_committed(session)

    async def aclose(self) -> None:
        await self.shared.close()
        if self.payments.tips is not None:
            await self.payments.tips.aclose()
        await self.analytics_engine.dispose()
        await self.engine.dispose()


def payment_settings(settings: Settings) -> PaymentSettings:
    return PaymentSettings(
        min_amount=settings.min_amount_sats,
        max_amount=settings.max_amount_sats,
        default_expiry_seconds=settings.default_expiry_seconds,
        test_network=settings.test_network,
        test_contract=settings.test_gateway_contract,
        live_contract=settings.live_gateway_contract,
        checkout_base_url=settings.base_url,
        signing_key=PrivateKey.from_hex(settings.secret("gateway_signing_key")),
        tips=ChainTips(
            {
                settings.test_network: settings.test_stacks_api_url,
                "mainnet": settings.live_stacks_api_url,
            }
        ),
        block_time_seconds=settings.stacks_block_time_seconds,
        client_secret_key=settings.secret("api_key_secret").encode(),
        revoke_on_cancel=settings.operator_key is not None,
        test_previous_contracts=settings.previous_contracts(False),
        live_previous_contracts=settings.previous_contracts(True),
    )


def _jwt_key(settings: Settings) -> str:
    """The configured key; a test-mode gateway built without `load_settings` (embedded uses,
    tests) gets a key of its own for this process. Live mode never gets here without one."""
    if settings.jwt_private_key is not None or settings.live:
        return settings.secret("jwt_private_key")
    return generate_private_key_pem()


def build_gateway(settings: Settings) -> Gateway:
    engine = make_engine(
        settings.resolved_database_url,
        pool_size=settings.db_pool_size,
        lock_timeout_ms=settings.db_lock_timeout_ms,
        pgbouncer=settings.db_pgbouncer,
    )
    sessions = make_sessionmaker(engine)
    shared = build_shared_state(settings.redis_url, key_prefix=settings.redis_key_prefix)
    signer = TokenSigner(_jwt_key(settings), access_ttl=settings.jwt_access_ttl_seconds)
    authenticator = GatewayAuthenticator(
        sessions,
        settings.secret("api_key_secret"),
        signer,
        live=settings.live,
        cache_seconds=settings.auth_cache_seconds,
    )
    payments = payment_settings(settings)
    intents = IntentCache(shared.cache("payment_intents"), settings.intent_cache_seconds)
    merchant_terms = MerchantTermsCache(settings.auth_cache_seconds)
    http = HttpContext(
        settings=settings, sessions=sessions, shared=shared, authenticator=authenticator
    )
    analytics_engine = make_read_engine(
        settings.analytics_database_url or settings.resolved_database_url,
        pool_size=max(2, settings.db_pool_size // 4),
    )
    analytics_sessions = make_read_sessionmaker(analytics_engine)
    reader = AnalyticsReader(
        sessions=analytics_sessions,
        realtime_cache=shared.cache("metrics:realtime"),
        projection_cache=shared.cache("analytics:projections"),
        realtime_seconds=settings.analytics_realtime_cache_seconds,
    )
    reports = ReportSettings(
        store=LocalFileStore(settings.resolved_reports_dir),
        base_url=settings.base_url,
        lease_seconds=settings.report_lease_seconds,
    )
    gateway = Gateway(
        settings=settings,
        engine=engine,
        sessions=sessions,
        shared=shared,
        payments=payments,
        intents=intents,
        merchant_terms=merchant_terms,
        signer=signer,
        authenticator=authenticator,
        http=http,
        analytics_engine=analytics_engine,
        analytics_sessions=analytics_sessions,
        reports=reports,
    )
    http.after_commit = gateway.after_commit
    http.on_access_change.append(merchant_terms.forget)
    for dependency in (payments, intents, merchant_terms, signer, reader, reports):
        http.provide(dependency)
    return gateway
