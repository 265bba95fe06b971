"""Pure-ASGI middleware for headers every response carries (cheap: no request wrapping)."""

from __future__ import annotations

import secrets
from typing import Any

import structlog
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sbtc_gateway.api.responses import error_response
from sbtc_gateway.api.tracing import request_context
from sbtc_gateway.core import error_codes as codes


class StripeHeadersMiddleware:
    """`Request-Id` on every response, `Stripe-Version` echoed, `Stripe-Account` refused.

    The request id is also bound in structlog's context variables for the request's duration,
    so every log line written while serving it (services, events, chain calls) carries it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
        scope.setdefault("state", {})["request_id"] = request_id
        version: bytes | None = None
        account = False
        for name, value in scope["headers"]:
            if name == b"stripe-version":
                version = value
            elif name == b"stripe-account":
                account = True
        extra = [(b"request-id", request_id.encode())]
        if version is not None:
            extra.append((b"stripe-version", version))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        context = request_context(request_id)  # trace id, when a span is active
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id, **context)
        try:
            if account:
                response = error_response(codes.STRIPE_ACCOUNT_UNSUPPORTED(param="Stripe-Account"))
                await response(scope, receive, send_with_headers)
                return
            await self.app(scope, receive, send_with_headers)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)


class BrowserCORSMiddleware:
    """Starlette's CORS middleware, entered only by requests that carry an `Origin` header.

    Server-side callers (the SDKs, curl) send none; skipping CORS for them saves its header
    work on every API call (measured: about a fifth of the edge's cost).
    """

    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(name == b"origin" for name, _ in scope["headers"]):
            await self.cors(scope, receive, send)
            return
        await self.app(scope, receive, send)
