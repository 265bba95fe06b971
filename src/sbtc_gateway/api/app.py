"""The ASGI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from sbtc_gateway import __version__
from sbtc_gateway.api import openapi
from sbtc_gateway.api.middleware import StripeHeadersMiddleware
from sbtc_gateway.api.responses import error_response, json_response
from sbtc_gateway.api.state import GatewayState
from sbtc_gateway.config import Settings
from sbtc_gateway.core.errors import ApiError, GatewayError, InvalidRequestError, NotFoundError
from sbtc_gateway.core.ttlcache import TTLCache
from sbtc_gateway.db.engine import make_engine, make_sessionmaker
from sbtc_gateway.events.endpoints import router as events_router
from sbtc_gateway.merchants.endpoints import router as merchants_router
from sbtc_gateway.payments.endpoints import router as payments_router
from sbtc_gateway.payments.service import PaymentSettings
from sbtc_gateway.webhooks.endpoints import router as webhooks_router
from sbtc_gateway.worker import run_worker

log = structlog.get_logger(__name__)


def build_state(settings: Settings) -> GatewayState:
    engine = make_engine(settings.resolved_database_url, pool_size=settings.db_pool_size)
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
        ),
        key_secret=settings.secret("api_key_secret"),
        auth_cache=TTLCache(settings.auth_cache_seconds, 10_000),
    )


def create_app(settings: Settings, *, background_tasks: bool = False) -> FastAPI:
    """Build the app. `background_tasks` runs the worker's periodic jobs in-process (dev mode)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = build_state(settings)
        app.state.gateway = state
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(state, stop=stop)) if background_tasks else None
        try:
            yield
        finally:
            if task is not None:
                stop.set()
                try:
                    await asyncio.wait_for(task, timeout=settings.webhook_timeout_seconds + 10)
                except TimeoutError:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await state.engine.dispose()

    app = FastAPI(
        title="sBTC Payment Gateway",
        version=__version__,
        description="A Stripe-compatible API for accepting sBTC on Stacks. Amounts are satoshis.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.add_middleware(StripeHeadersMiddleware)
    app.include_router(merchants_router)
    app.include_router(payments_router)
    app.include_router(webhooks_router)
    app.include_router(events_router)
    _install_error_handlers(app)
    openapi.install(app)

    @app.get("/health", tags=["Operations"], summary="Liveness")
    async def health() -> Response:
        return json_response({"status": "ok", "version": __version__})

    @app.get("/ready", tags=["Operations"], summary="Readiness: the database answers")
    async def ready(request: Request) -> Response:
        state: GatewayState = request.app.state.gateway
        try:
            async with state.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("readiness check failed", error=type(exc).__name__)
            return json_response({"status": "unavailable", "database": "down"}, 503)
        return json_response({"status": "ok", "database": "up"})

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
        log.exception("unhandled error", path=request.url.path)
        return error_response(ApiError("An unexpected error occurred."))
