"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from sbtc_gateway import __version__
from sbtc_gateway.api import openapi
from sbtc_gateway.api.compression import CompressionMiddleware
from sbtc_gateway.api.deprecation import DeprecationMiddleware
from sbtc_gateway.api.metrics import MetricsMiddleware, forget_this_process, metrics_endpoint
from sbtc_gateway.api.middleware import BrowserCORSMiddleware, StripeHeadersMiddleware
from sbtc_gateway.api.ratelimit import RateLimitMiddleware
from sbtc_gateway.api.readiness import readiness
from sbtc_gateway.api.responses import error_response, json_response
from sbtc_gateway.api.state import GatewayState
from sbtc_gateway.api.tracing import setup_tracing
from sbtc_gateway.chain import PrivateKey
from sbtc_gateway.config import Settings
from sbtc_gateway.core.errors import ApiError, GatewayError, InvalidRequestError, NotFoundError
from sbtc_gateway.core.ttlcache import TTLCache
from sbtc_gateway.db.engine import make_engine, make_sessionmaker
from sbtc_gateway.events.endpoints import router as events_router
from sbtc_gateway.infra.shared import build_shared_state
from sbtc_gateway.merchants.endpoints import router as merchants_router
from sbtc_gateway.observability.metrics import count_database_failure
from sbtc_gateway.payments.endpoints import router as payments_router
from sbtc_gateway.payments.onchain import ChainTips
from sbtc_gateway.payments.service import PaymentSettings
from sbtc_gateway.refunds.endpoints import router as refunds_router
from sbtc_gateway.settlements.endpoints import router as settlements_router
from sbtc_gateway.users.endpoints import router as users_router
from sbtc_gateway.users.tokens import TokenSigner, generate_private_key_pem
from sbtc_gateway.watcher.endpoints import router as chain_push_router
from sbtc_gateway.webhooks.endpoints import router as webhooks_router
from sbtc_gateway.worker import run_worker

log = structlog.get_logger(__name__)


def build_state(settings: Settings) -> GatewayState:
    engine = make_engine(
        settings.resolved_database_url,
        pool_size=settings.db_pool_size,
        lock_timeout_ms=settings.db_lock_timeout_ms,
    )
    return GatewayState(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        payments=PaymentSettings(
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
        ),
        key_secret=settings.secret("api_key_secret"),
        auth_cache=TTLCache(settings.auth_cache_seconds, 10_000),
        session_cache=TTLCache(settings.auth_cache_seconds, 10_000),
        merchant_cache=TTLCache(settings.auth_cache_seconds, 10_000),
        tokens=TokenSigner(_jwt_key(settings), access_ttl=settings.jwt_access_ttl_seconds),
        shared=build_shared_state(settings.redis_url, key_prefix=settings.redis_key_prefix),
    )


def _jwt_key(settings: Settings) -> str:
    """The configured key; a test-mode gateway built without `load_settings` (embedded uses,
    tests) gets a key of its own for this process. Live mode never gets here without one."""
    if settings.jwt_private_key is not None or settings.live:
        return settings.secret("jwt_private_key")
    return generate_private_key_pem()


async def _run_watcher(state: GatewayState) -> None:
    """`dev`: the chain watcher of the test network runs in the API process."""
    from sbtc_gateway.chain import StacksApiClient, get_network
    from sbtc_gateway.watcher.endpoints import WAKE_CHANNEL
    from sbtc_gateway.watcher.runner import Watcher
    from sbtc_gateway.watcher.service import WatchTarget

    settings = state.settings
    target = WatchTarget(
        network=get_network(settings.test_network),
        contract_id=settings.test_gateway_contract,
        livemode=False,
        large_payment_sats=settings.large_payment_sats,
        large_payment_confirmations=settings.large_payment_confirmations,
    )
    async with StacksApiClient(settings.test_stacks_api_url) as client:
        watcher = Watcher(
            state.sessions,
            target,
            client,
            after_commit=state.after_commit,
            poll_interval=settings.watcher_poll_interval_seconds,
        )
        state.shared.pubsub.subscribe(WAKE_CHANNEL, watcher.on_push)
        await watcher.run_as_leader(state.engine, standby=settings.watcher_standby_seconds)


def create_app(
    settings: Settings, *, background_tasks: bool = False, span_exporter: Any = None
) -> FastAPI:
    """Build the app. `background_tasks` runs the worker's periodic jobs in-process (dev mode);
    traces go to OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (or to `span_exporter`)."""
    tracer_provider: Any = None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = build_state(settings)
        app.state.gateway = state
        await state.shared.start()
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(state, stop=stop)) if background_tasks else None
        watcher = asyncio.create_task(_run_watcher(state)) if background_tasks else None
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            if worker is not None:
                stop.set()
                try:
                    await asyncio.wait_for(worker, timeout=settings.webhook_timeout_seconds + 10)
                except TimeoutError:
                    worker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker
            await state.shared.close()
            if state.payments.tips is not None:
                await state.payments.tips.aclose()
            await state.engine.dispose()
            if tracer_provider is not None:
                tracer_provider.shutdown()
            forget_this_process()

    app = FastAPI(
        title="sBTC Payment Gateway",
        version=__version__,
        description="A Stripe-compatible API for accepting sBTC on Stacks. Amounts are satoshis.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    # Outermost last: request id → metrics/access log → CORS → compression → rate limit →
    # deprecation headers → routes. All pure ASGI.
    app.add_middleware(DeprecationMiddleware)
    app.add_middleware(RateLimitMiddleware)
    app.add_middleware(CompressionMiddleware)
    if settings.cors_origin_list:
        app.add_middleware(
            BrowserCORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Idempotency-Key",
                "Stripe-Version",
                "Sbtc-Signature",
            ],
            expose_headers=[
                "Request-Id",
                "Stripe-Version",
                "Idempotent-Replayed",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "RateLimit-Reset",
                "RateLimit-Policy",
                "Retry-After",
                "Deprecation",
                "Sunset",
                "Link",
            ],
            max_age=600,
        )
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(StripeHeadersMiddleware)
    tracer_provider = setup_tracing(app, exporter=span_exporter)  # outermost when on
    app.include_router(merchants_router)
    app.include_router(payments_router)
    app.include_router(webhooks_router)
    app.include_router(refunds_router)
    app.include_router(settlements_router)
    app.include_router(chain_push_router)
    app.include_router(events_router)
    app.include_router(users_router)
    _install_error_handlers(app)
    openapi.install(app)

    @app.get("/health", tags=["Operations"], summary="Liveness")
    async def health() -> Response:
        return json_response({"status": "ok", "version": __version__})

    app.add_api_route(
        "/metrics",
        metrics_endpoint,
        methods=["GET"],
        tags=["Operations"],
        summary="Prometheus metrics",
        include_in_schema=False,
    )

    @app.get(
        "/ready",
        tags=["Operations"],
        summary="Readiness: the database, Redis and the Stacks API of each network answer",
    )
    async def ready(request: Request) -> Response:
        """503 only when the database is down; Redis or a Stacks API down is `degraded`
        (200): see `api/readiness.py` for why."""
        status, body = await readiness(request.app.state.gateway)
        return json_response(body, status)

    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError) -> Response:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(
                NotFoundError(
                    f"Unrecognized request URL ({request.method}: {request.url.path}).",
                    code="resource_missing",
                )
            )
        if exc.status_code == 405:
            return error_response(
                InvalidRequestError(
                    f"Unrecognized request URL ({request.method}: {request.url.path}).",
                    code="method_not_allowed",
                    status=405,
                )
            )
        return error_response(InvalidRequestError(str(exc.detail), status=exc.status_code))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(InvalidRequestError("Invalid request.", code="parameter_invalid"))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> Response:
        count_database_failure(exc, "request")
        log.exception("unhandled error", path=request.url.path)
        return error_response(ApiError("An unexpected error occurred."))
