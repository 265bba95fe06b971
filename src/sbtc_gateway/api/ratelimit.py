"""Rate limiting at the edge (pure ASGI): per API key by tier, per client IP otherwise.

Headers follow draft-ietf-httpapi-ratelimit-headers-06 (the separate-field form most clients
read): `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds until the window
ends) and `RateLimit-Policy: <limit>;w=<window seconds>`. When several policies apply, the one
with the fewest requests left is shown. Refusals are 429 in Stripe's envelope
(`invalid_request_error`, code `rate_limit`) with `Retry-After`; the Stripe SDKs raise
RateLimitError.

The middleware authenticates the key itself (the endpoint then reuses the result), so that the
limit follows the merchant's tier; requests without a valid key are limited per client IP, which
also slows down key guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sbtc_gateway.api.auth import authenticate
from sbtc_gateway.api.client_ip import client_ip, parse_networks
from sbtc_gateway.api.context import HttpContext
from sbtc_gateway.api.responses import error_response
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.infra.base import RateLimitResult
from sbtc_gateway.observability import metrics

EXEMPT = frozenset({"/health", "/ready", "/metrics", "/docs", "/openapi.json"})


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    key: str
    limit: int
    window: int


def policies_for(
    ctx: HttpContext, method: str, path: str, ip: str, auth_key: str | None, tier: str
) -> list[Policy]:
    s = ctx.settings
    found: list[Policy] = []
    if method == "POST" and path == "/v1/merchants":
        found.append(Policy("signup", f"signup:{ip}", s.signup_rate_limit_per_hour, 3600))
    if method == "POST" and path == "/v1/auth/login":  # per email: in the endpoint
        found.append(Policy("login", f"login:{ip}", s.login_rate_limit_per_minute, 60))
    if auth_key is None:
        found.append(Policy("anonymous", f"ip:{ip}", s.anonymous_rate_limit_per_minute, 60))
        return found
    multiplier = ctx.authenticator.rate_limit_multiplier(tier)
    found.append(Policy("api_key", f"key:{auth_key}", s.rate_limit_per_minute * multiplier, 60))
    if method == "POST" and path == "/v1/api_keys/rotate":
        found.append(
            Policy("key_rotation", f"rotate:{auth_key}", s.key_rotation_rate_limit_per_hour, 3600)
        )
    return found


def headers_for(policy: Policy, result: RateLimitResult) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", str(result.limit).encode()),
        (b"ratelimit-remaining", str(result.remaining).encode()),
        (b"ratelimit-reset", str(result.reset_seconds).encode()),
        (b"ratelimit-policy", f"{policy.limit};w={policy.window}".encode()),
    ]


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gateway: HttpContext = scope["app"].state.http
        settings = gateway.settings
        state = scope.setdefault("state", {})
        peer = scope["client"][0] if scope.get("client") else None
        networks = parse_networks(settings.trusted_proxies)
        forwarded = (
            [v.decode("latin-1") for k, v in scope["headers"] if k == b"x-forwarded-for"]
            if networks
            else []
        )
        ip = state["client_ip"] = client_ip(peer, forwarded, networks)
        path: str = scope["path"]
        method: str = scope["method"]
        if not settings.rate_limit_enabled or method == "OPTIONS" or path in EXEMPT:
            await self.app(scope, receive, send)
            return

        auth_key: str | None = None
        tier = "starter"
        if any(k == b"authorization" for k, _ in scope["headers"]):
            try:
                auth = await authenticate(Request(scope), gateway)
                auth_key, tier = auth.api_key_id, auth.tier
            except Exception:  # noqa: S110 - the endpoint reports it (inside the error handlers)
                pass  # meanwhile the caller is limited by IP

        shown: tuple[Policy, RateLimitResult] | None = None
        for policy in policies_for(gateway, method, path, ip, auth_key, tier):
            result = await gateway.shared.limiter.hit(policy.key, policy.limit, policy.window)
            if not result.allowed:
                metrics.RATE_LIMITED.labels(policy.name).inc()
                headers = {k.decode(): v.decode() for k, v in headers_for(policy, result)}
                headers["Retry-After"] = str(result.retry_after)
                response = error_response(
                    codes.RATE_LIMIT(retry_after=result.retry_after, headers=headers)
                )
                await response(scope, receive, send)
                return
            if shown is None or result.remaining < shown[1].remaining:
                shown = (policy, result)

        extra = headers_for(*shown) if shown else []

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)
