"""Checking `Sbtc-Signature` on sensitive operations (a reusable endpoint helper).

Call `await require_signature(request, ctx, caller)` after authenticating and before
reading parameters. It applies to API-key callers; dashboard users (JWT) are not asked to
sign. Whether a signature is required follows SBTC_REQUIRE_REQUEST_SIGNING
(unset: live keys only); a signature that is sent is always checked. Nonces are claimed only
after the HMAC matched, so nobody can burn another merchant's nonces.
"""

from __future__ import annotations

import time

from fastapi import Request

from sbtc_gateway.api.auth import presented_key
from sbtc_gateway.api.context import HttpContext
from sbtc_gateway.api.params import read_body
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core import request_signing
from sbtc_gateway.core.principal import AuthenticatedKey


async def require_signature(request: Request, ctx: HttpContext, caller: AuthenticatedKey) -> None:
    if caller.kind == "user":
        # Signatures are keyed by the API key; a dashboard user instead needs the endpoint's
        # permission (checked by `authorize`) and holds a 1-hour token bound to a revocable
        # session (docs/adr/0009-dashboard-auth.md).
        return
    header = request.headers.get(request_signing.HEADER)
    if header is None:
        if ctx.settings.signing_required(caller.livemode):
            raise codes.REQUEST_SIGNATURE_MISSING(param=request_signing.HEADER)
        return
    parsed = request_signing.parse_header(header)
    if parsed is None:
        raise codes.REQUEST_SIGNATURE_INVALID(
            param=request_signing.HEADER,
            message="The Sbtc-Signature header is malformed; expected t=<unix>,n=<nonce>,v1=<hex>.",
        )
    if abs(time.time() - parsed.timestamp) > request_signing.TOLERANCE_SECONDS:
        raise codes.REQUEST_SIGNATURE_EXPIRED(param=request_signing.HEADER)
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    body = await read_body(request, ctx.settings.max_body_bytes)
    expected = request_signing.compute(
        ctx.authenticator.signing_secret(presented_key(request)),
        parsed.timestamp,
        parsed.nonce,
        request.method,
        path,
        body,
    )
    if not request_signing.matches(expected, parsed.signatures):
        raise codes.REQUEST_SIGNATURE_INVALID(param=request_signing.HEADER)
    ttl = 2 * request_signing.TOLERANCE_SECONDS
    if not await ctx.shared.nonces.claim(f"{caller.api_key_id}:{parsed.nonce}", ttl):
        raise codes.REQUEST_SIGNATURE_REPLAYED(param=request_signing.HEADER)
