"""Who is calling, and may they: API keys and dashboard access tokens.

`Authorization: Bearer <key>` (or Basic with the key as user) carries either an API key
(`sk_…`/`pk_…`) or a dashboard user's RS256 access token (a JWT: three dot-separated parts).
Every endpoint calls `authorize(request, gw, "<permission>")`; the permission table is
`users/roles.py`. Secret keys hold every permission, publishable keys none (an endpoint lets them
in explicitly), users what their current role gives in the token's mode.
"""

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
from sbtc_gateway.users import repository as users
from sbtc_gateway.users.roles import ALL, permissions_for
from sbtc_gateway.users.tokens import looks_like_jwt


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
    if looks_like_jwt(key):
        user = await _authenticate_token(gateway, key)
        request.state.auth = user
        return user
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


async def _authenticate_token(gateway: GatewayState, token: str) -> AuthenticatedKey:
    claims = gateway.signer.verify(token)
    if claims.livemode and not gateway.settings.live:
        raise AuthenticationError(
            "Live tokens are not accepted: this gateway runs in test mode.",
            code="livemode_disabled",
        )
    cache_key = f"{claims.user_id}:{claims.session_id}"
    hit, state = gateway.session_cache.get(cache_key)
    if not hit:
        async with gateway.sessions() as session:
            state = await users.session_state(
                session, claims.user_id, claims.session_id, int(time.time())
            )
        gateway.session_cache.set(cache_key, state)
    if state is None or state.merchant_id != claims.merchant_id:
        raise AuthenticationError(
            "This session has ended (logged out, revoked, or the user was disabled or "
            "removed); log in again.",
            code="session_revoked",
        )
    return AuthenticatedKey(
        api_key_id=claims.user_id,
        merchant_id=state.merchant_id,
        livemode=claims.livemode,
        kind="user",
        expires_at=claims.expires_at,
        tier=state.tier,
        role=state.role,
        session_id=claims.session_id,
    )


def permissions_of(caller: AuthenticatedKey) -> frozenset[str]:
    if caller.kind == "secret":
        return ALL
    if caller.kind == "user" and caller.role is not None:
        return permissions_for(caller.role, caller.livemode)
    return frozenset()


async def authorize(
    request: Request, gateway: GatewayState, permission: str, *, publishable: bool = False
) -> AuthenticatedKey:
    """Authenticate, then check `permission` (see users/roles.py). With `publishable=True` a
    publishable key is let in too (the endpoint then limits what it can see or do)."""
    auth = await authenticate(request, gateway)
    if auth.kind == "publishable":
        if publishable:
            return auth
        raise PermissionDeniedError(
            "This API call cannot be made with a publishable API key. Please use a secret API key.",
            code="secret_key_required",
        )
    if permission not in permissions_of(auth):
        mode = "live" if auth.livemode else "test"
        raise PermissionDeniedError(
            f"This call needs the `{permission}` permission, which the {auth.role} role does "
            f"not have in {mode} mode.",
            code="insufficient_permissions",
        )
    return auth
