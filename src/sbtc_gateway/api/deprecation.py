"""Deprecations of endpoints and parameters, announced in response headers.

`Deprecation: @<unix seconds>` (RFC 9745), `Sunset: <HTTP-date>` (RFC 8594) and
`Link: <doc>; rel="deprecation"`. Endpoints are registered by method and route template in
`ENDPOINTS`; a parameter is announced by the endpoint that reads it, with `announce(request,
...)`. The middleware adds the headers to the response.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS = "https://docs.sbtc-gateway.dev/deprecations"


@dataclass(frozen=True, slots=True)
class Deprecation:
    name: str
    deprecated_at: int  # unix seconds
    sunset_at: int | None = None
    note: str = ""

    def headers(self) -> list[tuple[bytes, bytes]]:
        out = [
            (b"deprecation", f"@{self.deprecated_at}".encode()),
            (b"link", f'<{DOCS}#{self.name}>; rel="deprecation"'.encode()),
        ]
        if self.sunset_at is not None:
            out.append((b"sunset", formatdate(self.sunset_at, usegmt=True).encode()))
        return out


# (method, route template) -> deprecation. Empty today: nothing in /v1 is deprecated as a whole.
ENDPOINTS: dict[tuple[str, str], Deprecation] = {}

# Choosing one's own tier at sign-up: the tier sets fees and rate limits, so it is the
# operator's decision (`sbtc-gateway merchants create --tier`). Still honoured until the sunset.
SIGNUP_TIER = Deprecation(
    name="signup-tier",
    deprecated_at=1_795_564_800,  # 2026-11-25 00:00 UTC
    sunset_at=1_811_808_000,  # 2027-06-01 00:00 UTC
    note="POST /v1/merchants `tier`: tiers are assigned by the operator",
)


def announce(request: Request, deprecation: Deprecation) -> None:
    """Mark this response as using something deprecated (a parameter, a field)."""
    request.scope.setdefault("state", {}).setdefault("deprecations", []).append(deprecation)


class DeprecationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                found: list[Deprecation] = list(scope.get("state", {}).get("deprecations", []))
                route = scope.get("route")
                template = getattr(route, "path", None)
                if template is not None:
                    endpoint = ENDPOINTS.get((scope["method"], template))
                    if endpoint is not None:
                        found.append(endpoint)
                if found:
                    first = min(found, key=lambda d: d.sunset_at or 2**62)
                    headers = list(message.get("headers", [])) + first.headers()
                    headers += [
                        (b"link", f'<{DOCS}#{d.name}>; rel="deprecation"'.encode())
                        for d in found
                        if d is not first
                    ]
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
