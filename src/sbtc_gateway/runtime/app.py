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
from starlette.responses import HTMLResponse, Response

from sbtc_gateway import __version__
from sbtc_gateway.api import openapi
from sbtc_gateway.api.compression import CompressionMiddleware
from sbtc_gateway.api.deprecation import DeprecationMiddleware
from sbtc_gateway.api.metrics import MetricsMiddleware, forget_this_process, metrics_endpoint
from sbtc_gateway.api.middleware import BrowserCORSMiddleware, StripeHeadersMiddleware
from sbtc_gateway.api.ratelimit import RateLimitMiddleware
from sbtc_gateway.api.reference import router as reference_router
from sbtc_gateway.api.responses import error_response, json_response
from sbtc_gateway.api.static import WebAssets, default_dist_dir, web_router
from sbtc_gateway.api.tracing import setup_tracing
from sbtc_gateway.config import Settings
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.errors import GatewayError, set_docs_base
from sbtc_gateway.observability.metrics import count_database_failure
from sbtc_gateway.runtime.container import build_gateway
from sbtc_gateway.runtime.readiness import readiness
from sbtc_gateway.runtime.routers import ROUTERS
from sbtc_gateway.runtime.status import StatusPage, render_html
from sbtc_gateway.runtime.watcher import default_network, run_watcher
from sbtc_gateway.runtime.worker import run_worker

log = structlog.get_logger(__name__)


def create_app(
    settings: Settings, *, background_tasks: bool = False, span_exporter: Any = None
) -> FastAPI:
    """Build the app. `background_tasks` runs the worker's periodic jobs in-process (dev mode);
    traces go to OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (or to `span_exporter`)."""
    tracer_provider: Any = None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = build_gateway(settings)
        app.state.gateway = state
        app.state.http = state.http
        await state.shared.start()
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(state, stop=stop)) if background_tasks else None
        watcher = (
            asyncio.create_task(run_watcher(state, default_network(settings)))
            if background_tasks
            else None
        )
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
            await state.aclose()
            if tracer_provider is not None:
                tracer_provider.shutdown()
            forget_this_process()

    app = FastAPI(
        title="sBTC Payment Gateway",
        version=__version__,
        description="A Stripe-compatible API for accepting sBTC on Stacks. Amounts are satoshis.",
        lifespan=lifespan,
        # `/docs` is the bundled reference page (web/), offline: no Swagger UI from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    set_docs_base(settings.base_url)
    _install_middleware(app, settings)
    tracer_provider = setup_tracing(app, exporter=span_exporter)  # outermost when on
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(reference_router)
    app.include_router(web_router(WebAssets(settings.web_dist_dir or default_dist_dir())))
    _install_error_handlers(app)
    openapi.install(app)

    _install_operations_routes(app)
    _install_public_pages(app, settings)
    return app


def _install_middleware(app: FastAPI, settings: Settings) -> None:
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


def _install_operations_routes(app: FastAPI) -> None:
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
        (200): see `runtime/readiness.py` for why."""
        status, body = await readiness(request.app.state.gateway)
        return json_response(body, status)


def _install_public_pages(app: FastAPI, settings: Settings) -> None:
    """The status page (`runtime/status.py`); the built web pages and `/static/` are
    `api/static.py`'s."""
    page = StatusPage()

    @app.get("/status.json", tags=["Operations"], summary="Public status of each component")
    async def status_json(request: Request) -> Response:
        return json_response(await page.get(request.app.state.gateway))

    @app.get("/status", tags=["Operations"], summary="Public status page", include_in_schema=False)
    async def status_html(request: Request) -> Response:
        body = await page.get(request.app.state.gateway)
        return HTMLResponse(render_html(body), headers={"Cache-Control": "no-cache"})


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError) -> Response:
        return error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_response(
                codes.RESOURCE_MISSING(
                    message=f"Unrecognized request URL ({request.method}: {request.url.path})."
                )
            )
        if exc.status_code == 405:
            return error_response(
                codes.METHOD_NOT_ALLOWED(method=request.method, path=request.url.path)
            )
        # Besides routing's 404/405, the framework raises only 400s here (FastAPI's "error
        # parsing the body"): static files (api/static.py) raise the catalogue's errors.
        return error_response(codes.REQUEST_INVALID(detail=exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(codes.PARAMETER_INVALID(message="Invalid request."))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> Response:
        count_database_failure(exc, "request")
        log.exception("unhandled error", path=request.url.path)
        return error_response(codes.API_ERROR())
