"""Dashboard sign-in (`/v1/auth/*`), users of an account (`/v1/users`) and the JWKS.

Login, refresh and logout are not idempotent requests (an Idempotency-Key is ignored): a
retried login or refresh just starts, or fails to rotate, a session.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from sbtc_gateway.api import openapi
from sbtc_gateway.api.auth import authorize, permissions_of
from sbtc_gateway.api.context import HttpContext
from sbtc_gateway.api.deps import gateway, parse
from sbtc_gateway.api.mutation import run_write
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.api.routing import checked_routes
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.origin import Origin
from sbtc_gateway.core.paging import list_envelope
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.users import passwords, service
from sbtc_gateway.users.roles import may_manage, permissions_for
from sbtc_gateway.users.schemas import (
    AUTH_SESSION_FIELDS,
    USER_FIELDS,
    LoginParams,
    PasswordChangeParams,
    RefreshParams,
    UserCreateParams,
    UserListParams,
    UserUpdateParams,
    render_deleted,
    render_user,
)
from sbtc_gateway.users.tokens import TokenSigner

router = APIRouter(tags=["Users"], route_class=checked_routes())
BASE = "/v1/users"

openapi.describe("User", USER_FIELDS)
openapi.describe("DeletedUser", ["id", "object", "deleted"])
openapi.describe("AuthSession", AUTH_SESSION_FIELDS)
openapi.describe("Logout", ["object", "revoked"])
openapi.describe("Jwks", ["keys"])


def _session_body(gw: HttpContext, issued: service.IssuedRefresh, now: int) -> dict[str, Any]:
    user = issued.user
    access, expires = gw.get(TokenSigner).issue(
        user_id=user.id,
        merchant_id=user.merchant_id,
        session_id=issued.family_id,
        role=user.role,
        permissions=permissions_for(user.role, issued.livemode),
        livemode=issued.livemode,
        now=now,
    )
    return {
        "object": "auth_session",
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": expires - now,
        "refresh_token": issued.plaintext,
        "refresh_expires_in": issued.expires_at - now,
        "user": render_user(user, issued.livemode),
    }


def _need_user(caller: AuthenticatedKey) -> str:
    if caller.kind != "user" or caller.session_id is None:
        raise codes.USER_TOKEN_REQUIRED()
    return caller.session_id


def _required(value: str | None, param: str) -> str:
    if not value:
        raise codes.PARAMETER_MISSING(param=param)
    return value


@router.get(
    "/.well-known/jwks.json",
    tags=["Operations"],
    summary="The public key that verifies dashboard access tokens (JWKS)",
    openapi_extra={"security": []},
    responses=openapi.responds("Jwks", "The key set"),
)
async def jwks(request: Request) -> Response:
    return json_response(gateway(request).get(TokenSigner).jwks())


@router.post(
    "/v1/auth/login",
    summary="Log in a dashboard user: an access token (1 h) and a refresh token (7 d)",
    openapi_extra={**openapi.body(LoginParams), "security": []},
    responses=openapi.responds("AuthSession", "The new session"),
)
async def login(request: Request) -> Response:
    gw = gateway(request)
    params, _ = await parse(request, LoginParams)
    email = service.normalise_email(params.email)
    password = _required(params.password, "password")
    livemode = bool(params.livemode)
    if livemode and not gw.settings.live:
        raise codes.PARAMETER_INVALID(
            param="livemode", message="Live mode is not available: this gateway runs in test mode."
        )
    if gw.settings.rate_limit_enabled:
        await service.check_login_rate(
            gw.shared.limiter, email, per_minute=gw.settings.login_rate_limit_per_minute
        )
    async with gw.sessions() as session:
        user = await service.verify_credentials(session, email, password, params.merchant)
    now = int(time.time())
    async with gw.sessions.begin() as session:
        issued = await service.record_login(
            session,
            user,
            password=password,
            livemode=livemode,
            key_secret=gw.key_secret,
            ttl=gw.settings.jwt_refresh_ttl_seconds,
            now=now,
        )
    return json_response(_session_body(gw, issued, now))


@router.post(
    "/v1/auth/refresh",
    summary="Trade a refresh token for a new access and refresh token (a reuse revokes the "
    "session)",
    openapi_extra={**openapi.body(RefreshParams), "security": []},
    responses=openapi.responds("AuthSession", "The session's next tokens"),
)
async def refresh(request: Request) -> Response:
    gw = gateway(request)
    params, _ = await parse(request, RefreshParams)
    presented = _required(params.refresh_token, "refresh_token")
    now = int(time.time())
    async with gw.sessions.begin() as session:
        outcome = await service.rotate(
            session,
            presented,
            key_secret=gw.key_secret,
            ttl=gw.settings.jwt_refresh_ttl_seconds,
            now=now,
            max_session_seconds=gw.settings.jwt_session_max_seconds,
        )
    if isinstance(outcome, service.Reused):
        await gw.invalidate_auth()  # the family's access tokens stop at once on every replica
        raise codes.REFRESH_TOKEN_REUSED()
    return json_response(_session_body(gw, outcome, now))


@router.post(
    "/v1/auth/logout",
    summary="End the caller's session: its refresh and access tokens stop working",
    responses=openapi.responds("Logout", "The session is revoked"),
)
async def logout(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "profile")
    family = _need_user(caller)
    async with gw.sessions.begin() as session:
        await service.end_session(session, family, int(time.time()))
    await gw.invalidate_auth()
    return json_response({"object": "logout", "revoked": True})


@router.get(
    BASE + "/me",
    summary="The calling dashboard user",
    responses=openapi.responds("User", "The user"),
)
async def get_me(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "profile")
    _need_user(caller)
    async with gw.sessions() as session:
        user = await service.get_user(session, caller.merchant_id, caller.api_key_id)
    return json_response(render_user(user, caller.livemode))


@router.post(
    BASE + "/me/password",
    summary="Change the caller's password; every other session of the user ends",
    openapi_extra=openapi.body(PasswordChangeParams),
    responses=openapi.responds("User", "The user"),
)
async def change_password(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "profile")
    family = _need_user(caller)
    params, _ = await parse(request, PasswordChangeParams)
    async with gw.sessions() as session:
        user = await service.get_user(session, caller.merchant_id, caller.api_key_id)
    new_hash = await service.replacement_hash(user, params.current_password, params.new_password)
    async with gw.sessions.begin() as session:
        user = await service.set_password(
            session, user, new_hash=new_hash, keep_family=family, now=int(time.time())
        )
    await gw.invalidate_auth()
    return json_response(render_user(user, caller.livemode))


@router.get(
    BASE,
    summary="List the account's dashboard users",
    openapi_extra=openapi.query(UserListParams),
    responses=openapi.responds("List", "A page of users, newest first"),
)
async def list_users(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "users:read")
    params, _ = await parse(request, UserListParams)
    async with gw.sessions() as session:
        items, has_more = await service.list_users(session, caller.merchant_id, params)
    data = [render_user(u, caller.livemode) for u in items]
    return json_response(list_envelope(data, has_more, BASE))


@router.post(
    BASE,
    summary="Add a dashboard user with a password set by the caller (owners are added only by "
    "owners or a secret key)",
    openapi_extra=openapi.body(UserCreateParams),
    responses=openapi.responds("User", "The new user"),
)
async def create_user(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "users:write")
    params, raw = await parse(request, UserCreateParams)
    email = service.normalise_email(params.email)
    if params.role is None:
        raise codes.PARAMETER_MISSING(param="role")
    if not may_manage(permissions_of(gw, caller), params.role):
        raise service.insufficient("Only owners can add an owner.")
    password = passwords.check_strength(params.password, param="password")
    password_hash = await passwords.hash_password(password)
    raw = {**raw, "password": "[redacted]"}  # the idempotency fingerprint never sees it
    role = params.role

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        user = await service.create_user(
            session, caller.merchant_id, email=email, password_hash=password_hash, role=role
        )
        return 200, render_user(user, caller.livemode)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)


@router.get(
    BASE + "/{user_id}",
    summary="Retrieve a dashboard user",
    responses=openapi.responds("User", "The user"),
)
async def retrieve_user(user_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "users:read")
    async with gw.sessions() as session:
        user = await service.get_user(session, caller.merchant_id, user_id)
    return json_response(render_user(user, caller.livemode))


@router.post(
    BASE + "/{user_id}",
    summary="Change a user's role or status (either ends the user's sessions)",
    openapi_extra=openapi.body(UserUpdateParams),
    responses=openapi.responds("User", "The updated user"),
)
async def update_user(user_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "users:write")
    params, raw = await parse(request, UserUpdateParams)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        user = await service.update_user(
            session,
            permissions_of(gw, caller),
            caller.merchant_id,
            user_id,
            params,
            int(time.time()),
        )
        return 200, render_user(user, caller.livemode)

    response = await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)
    await gw.invalidate_auth()
    return response


@router.delete(
    BASE + "/{user_id}",
    summary="Delete a dashboard user (its sessions end)",
    responses=openapi.responds("DeletedUser", "The deleted user"),
)
async def delete_user(user_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "users:write")

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        await service.delete_user(session, permissions_of(gw, caller), caller.merchant_id, user_id)
        return 200, render_deleted(user_id)

    response = await run_write(request, gw, scope=caller.api_key_id, params={}, handler=handler)
    await gw.invalidate_auth()
    return response
