"""HTTP endpoints for merchant sign-up, the account and API key rotation."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from sbtc_gateway.api import deprecation, openapi
from sbtc_gateway.api.auth import authorize
from sbtc_gateway.api.deps import gateway, parse
from sbtc_gateway.api.mutation import run_write
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.api.routing import checked_routes
from sbtc_gateway.api.signing import require_signature
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.origin import Origin
from sbtc_gateway.merchants import keys, service
from sbtc_gateway.merchants.schemas import (
    AccountUpdateParams,
    ApiKeyRotateParams,
    MerchantCreateParams,
    render_account,
    with_keys,
)
from sbtc_gateway.observability import metrics
from sbtc_gateway.users import passwords
from sbtc_gateway.users import service as users
from sbtc_gateway.users.roles import Role

router = APIRouter(tags=["Merchants"], route_class=checked_routes())

ACCOUNT_FIELDS = [
    "id", "object", "business_name", "email", "stacks_address", "live_stacks_address", "tier",
    "fee_basis_points", "status", "live_activated", "payment_expiry_seconds", "logo_url",
    "accent_color", "livemode", "created",
]  # fmt: skip
openapi.describe("Account", ACCOUNT_FIELDS)
openapi.describe(
    "NewMerchant", [*ACCOUNT_FIELDS, "publishable_key", "secret_key", "signing_secret"]
)
openapi.describe(
    "ApiKey", ["id", "object", "secret", "signing_secret", "livemode", "created", "previous_key"]
)


def _client_ip(request: Request) -> str:
    """Resolved by the edge middleware from trusted proxies (`SBTC_TRUSTED_PROXIES`)."""
    ip: str | None = request.scope.get("state", {}).get("client_ip")
    return ip or (request.client.host if request.client else "unknown")


@router.post(
    "/v1/merchants",
    summary="Sign up a merchant: returns its test keys, shown this once (with `password`, also "
    "creates the owner user of the dashboard)",
    openapi_extra=openapi.body(MerchantCreateParams),
    responses=openapi.responds("NewMerchant", "The merchant with its test-mode keys"),
)
async def create_merchant(request: Request) -> Response:
    gw = gateway(request)
    params, raw = await parse(request, MerchantCreateParams)
    if params.tier is not None:
        deprecation.announce(request, deprecation.SIGNUP_TIER)
    password_hash: str | None = None
    if params.password is not None:
        password = passwords.check_strength(params.password, param="password")
        password_hash = await passwords.hash_password(password)
        raw = {**raw, "password": "[redacted]"}  # the idempotency fingerprint never sees it

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        merchant, issued = await service.register(session, params, key_secret=gw.key_secret)
        if password_hash is not None:  # the first owner, in the same transaction
            await users.create_user(
                session,
                merchant.id,
                email=merchant.email,
                password_hash=password_hash,
                role=Role.OWNER,
            )
        return 200, with_keys(render_account(merchant, livemode=False), issued, gw.key_secret)

    scope = f"anon:{_client_ip(request)}"
    response = await run_write(request, gw, scope=scope, params=raw, handler=handler)
    if response.status_code == 200 and "idempotent-replayed" not in response.headers:
        metrics.MERCHANT_SIGNUPS.inc()
    return response


@router.get(
    "/v1/account",
    summary="The authenticated merchant",
    responses=openapi.responds("Account", "The merchant"),
)
async def get_account(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "account:read")
    async with gw.sessions() as session:
        merchant = await service.get(session, caller.merchant_id)
    return json_response(render_account(merchant, caller.livemode))


@router.post(
    "/v1/account",
    summary="Update the merchant's settings",
    openapi_extra=openapi.body(AccountUpdateParams),
    responses=openapi.responds("Account", "The updated merchant"),
)
async def update_account(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "account:write")
    params, raw = await parse(request, AccountUpdateParams)
    if params.changes_payout:  # owners (or a secret key, signed) only
        await authorize(request, gw, "payouts:write")
        await require_signature(request, gw, caller)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        merchant = await service.update_account(
            session, caller.merchant_id, params, livemode=caller.livemode, origin=origin
        )
        return 200, render_account(merchant, caller.livemode)

    response = await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)
    if response.status_code == 200:
        await gw.invalidate_auth()  # new intents on every replica see the change at once
    return response


@router.post(
    "/v1/api_keys/rotate",
    summary="Rotate the calling secret key; the old one stays valid for a grace period",
    openapi_extra=openapi.body(ApiKeyRotateParams),
    responses=openapi.responds("ApiKey", "The new secret key, shown this once"),
)
async def rotate_api_key(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "api_keys:write")
    await require_signature(request, gw, caller)
    params, raw = await parse(request, ApiKeyRotateParams)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        rotating = caller
        if caller.kind == "user":  # a dashboard user rotates the mode's current secret key
            key_id = await service.current_secret_key_id(
                session, caller.merchant_id, caller.livemode
            )
            if key_id is None:
                raise codes.NO_SECRET_KEY()
            rotating = dataclasses.replace(caller, api_key_id=key_id)
        new = await service.rotate_secret_key(
            session,
            rotating,
            expires_in=params.expires_in,
            default_grace=gw.settings.key_rotation_grace_seconds,
            key_secret=gw.key_secret,
        )
        return 200, {
            "id": new.lookup,
            "object": "api_key",
            "secret": new.plaintext,
            "signing_secret": keys.signing_secret(gw.key_secret, new.digest),
            "livemode": new.livemode,
            "created": int(time.time()),
            "previous_key": {"id": rotating.api_key_id},
        }

    response = await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)
    await gw.invalidate_auth()  # every replica forgets cached keys (pub/sub; TTL ≤ 1 s anyway)
    return response
