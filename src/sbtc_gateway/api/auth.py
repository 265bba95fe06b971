"""API key authentication: `Authorization: Bearer <key>` or Basic with the key as user."""

from __future__ import annotations

import base64
import binascii
import time

from fastapi import Request

from sbtc_gateway.api.state import GatewayState
from sbtc_gateway.core.errors import AuthenticationError, PermissionDeniedError
from sbtc_gateway.merchants import keys
from sbtc_gateway.merchants import service as merchants
from sbtc_gateway.merchants.service import AuthenticatedKey


def presented_key(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            user = base64.b64decode(value, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            user = ""
        if user:
            return user
    raise AuthenticationError(
        "You did not provide an API key. Provide it in the Authorization header "
        "(Authorization: Bearer sk_test_…).",
        code="api_key_missing",
    )


def _invalid(key: str) -> AuthenticationError:
    shown = key[:8] + "*" * 8 + key[-4:] if len(key) > 16 else "****"
    return AuthenticationError(f"Invalid API Key provided: {shown}")


async def authenticate(request: Request, gateway: GatewayState) -> AuthenticatedKey:
    cached = getattr(request.state, "auth", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    key = presented_key(request)
    parsed = keys.parse(key)
    if parsed is None:
        raise _invalid(key)
    if parsed.livemode and not gateway.settings.live:
        raise AuthenticationError(
            "Live keys are not accepted: this gateway runs in test mode.", code="livemode_disabled"
        )
    candidate = keys.digest(gateway.key_secret, key)
    hit, auth = gateway.auth_cache.get(candidate)
    if hit and auth is not None and auth.expires_at is not None and auth.expires_at <= time.time():
        hit = False  # a rotated key's grace period ended while it was cached
    if not hit:
        async with gateway.sessions() as session:
            auth = await merchants.authenticate(session, parsed, candidate)
        gateway.auth_cache.set(candidate, auth)
    if auth is None:
        raise _invalid(key)
    request.state.auth = auth
    return auth


async def require_secret(request: Request, gateway: GatewayState) -> AuthenticatedKey:
    auth = await authenticate(request, gateway)
    if auth.kind != "secret":
        raise PermissionDeniedError(
            "This API call cannot be made with a publishable API key. Please use a secret API key.",
            code="secret_key_required",
        )
    return auth
