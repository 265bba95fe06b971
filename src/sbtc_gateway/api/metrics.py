"""HTTP metrics and the access log (pure ASGI), and the `/metrics` endpoint."""

from __future__ import annotations

import os
import time

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sbtc_gateway.observability import metrics

log = structlog.get_logger("sbtc_gateway.access")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class MetricsMiddleware:
    """Latency by route template (never the raw path: ids would explode the label set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics.HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, recording_send)
        finally:
            metrics.HTTP_IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or (
                "rate_limited" if status == 429 else "unmatched"
            )
            method = scope["method"]
            metrics.HTTP_LATENCY.labels(method, route, str(status)).observe(elapsed)
            log.info(
                "request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )


async def metrics_endpoint(request: Request) -> Response:
    if os.environ.get(MULTIPROC_ENV):  # several workers: add up every worker's samples
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def forget_this_process() -> None:
    """On a worker's shutdown in multiprocess mode: drop its live gauges (in-flight, Redis
    degraded) so a dead worker does not keep reporting them."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
