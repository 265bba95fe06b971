"""Roles and the one table of what each may do.

Endpoints name the permission they need (`authorize(request, gw, "refunds:write")`); this table
is the only place that says which role holds it. Secret API keys hold every permission (a secret
key is the merchant's full power); publishable keys hold none and are let in only where an
endpoint explicitly allows them.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    DEVELOPER = "developer"
    VIEWER = "viewer"


# `profile`: one's own user (read it, change one's password, log out). Every role has it.
READ = frozenset(
    {
        "profile",
        "payment_intents:read",
        "charges:read",
        "balance:read",
        "refunds:read",
        "events:read",
        "webhooks:read",
        "settlements:read",
        "account:read",
        "users:read",
        "analytics:read",
        "reports:read",
        # A report run only reads (it writes its own row and file): whoever may read the
        # figures may have them as a file.
        "reports:write",
    }
)
# A developer may change things only in test mode: live money is for admins and owners.
DEVELOPER_TEST_MODE = frozenset(
    {"payment_intents:write", "webhooks:write", "events:write", "api_keys:write"}
)
ADMIN = READ | DEVELOPER_TEST_MODE | {"refunds:write", "account:write", "users:write"}
# Where the money goes (payout addresses) is the owners' call, like who the owners are.
ALL = ADMIN | {"owners:write", "payouts:write"}

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.OWNER: ALL,
    Role.ADMIN: ADMIN,
    Role.DEVELOPER: READ | DEVELOPER_TEST_MODE,
    Role.VIEWER: READ,
}
TEST_MODE_ONLY: dict[Role, frozenset[str]] = {Role.DEVELOPER: DEVELOPER_TEST_MODE}


def permissions_for(role: str, livemode: bool) -> frozenset[str]:
    """What a user of `role` may do in this mode (an unknown role may do nothing)."""
    try:
        known = Role(role)
    except ValueError:
        return frozenset()
    granted = ROLE_PERMISSIONS[known]
    if livemode:
        granted = granted - TEST_MODE_ONLY.get(known, frozenset())
    return granted


def may_manage(actor_permissions: frozenset[str], role: str) -> bool:
    """Owners are managed only by holders of `owners:write`; other roles need `users:write`."""
    if role == Role.OWNER:
        return "owners:write" in actor_permissions
    return "users:write" in actor_permissions
