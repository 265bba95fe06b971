"""Who is calling, and may they: the toolkit's side of authentication.

`Authorization: Bearer <key>` (or Basic with the key as user) carries either an API key
(`sk_…`/`pk_…`) or a dashboard user's RS256 access token. Every endpoint calls
`authorize(request, ctx, "<permission>")`; what a bearer is, and which permissions it holds, is
the `Authenticator`'s answer (built by the composition root from the merchants and users
domains: `users/authentication.py`). Secret keys hold every permission, publishable keys none
(an endpoint lets them in explicitly), users what their current role gives in the token's mode.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Request

from sbtc_gateway.api.context import HttpContext
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.principal import AuthenticatedKey


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
    raise codes.API_KEY_MISSING()


async def authenticate(request: Request, ctx: HttpContext) -> AuthenticatedKey:
    cached = getattr(request.state, "auth", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    auth = await ctx.authenticator.authenticate(presented_key(request))
    request.state.auth = auth
    return auth


def permissions_of(ctx: HttpContext, caller: AuthenticatedKey) -> frozenset[str]:
    return ctx.authenticator.permissions_of(caller)


async def authorize(
    request: Request, ctx: HttpContext, permission: str, *, publishable: bool = False
) -> AuthenticatedKey:
    """Authenticate, then check `permission` (see users/roles.py). With `publishable=True` a
    publishable key is let in too (the endpoint then limits what it can see or do)."""
    auth = await authenticate(request, ctx)
    if auth.kind == "publishable":
        if publishable:
            return auth
        raise codes.SECRET_KEY_REQUIRED()
    if permission not in ctx.authenticator.permissions_of(auth):
        mode = "live" if auth.livemode else "test"
        raise codes.INSUFFICIENT_PERMISSIONS(permission=permission, role=auth.role, mode=mode)
    return auth
