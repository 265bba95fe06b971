from __future__ import annotations

from typing import Any

from sbtc_gateway.core.params import Email, OptBool, OptId, OptInt, OptStr, Params, ReqStr
from sbtc_gateway.users.models import User
from sbtc_gateway.users.roles import Role

USER_FIELDS = ["id", "object", "email", "role", "status", "created", "last_login_at", "livemode"]
AUTH_SESSION_FIELDS = [
    "object", "access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in",
    "user",
]  # fmt: skip


class LoginParams(Params):
    email: Email = None
    password: OptStr = None
    merchant: OptId = None
    livemode: OptBool = None


class RefreshParams(Params):
    # a secret: any wrong one, however long, is the same 401 (never stored, only digested)
    refresh_token: OptStr = None


class UserCreateParams(Params):
    email: Email = None
    role: Role | None = None
    password: OptStr = None


class UserUpdateParams(Params):
    role: Role | None = None
    status: OptStr = None


class UserListParams(Params):
    limit: OptInt = None
    starting_after: OptId = None
    ending_before: OptId = None


class PasswordChangeParams(Params):
    current_password: ReqStr
    new_password: ReqStr


def render_user(user: User, livemode: bool) -> dict[str, Any]:
    return {
        "id": user.id,
        "object": "user",
        "email": user.email,
        "role": user.role,
        "status": user.status,
        "created": user.created,
        "last_login_at": user.last_login_at,
        "livemode": livemode,
    }


def render_deleted(user_id: str) -> dict[str, Any]:
    return {"id": user_id, "object": "user", "deleted": True}
