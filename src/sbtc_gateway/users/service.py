"""Users, password login and refresh-token sessions.

Services take a session and never commit. Two answers must survive a rollback, so they are
returned instead of raised: a refresh-token reuse (`Reused`) revokes the family, and that
revocation has to be committed before the endpoint answers 401.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.errors import GatewayError
from sbtc_gateway.core.ids import created_ms, new_id
from sbtc_gateway.core.paging import check_limit
from sbtc_gateway.infra.base import RateLimiter
from sbtc_gateway.merchants import service as merchants
from sbtc_gateway.users import passwords, repository, tokens
from sbtc_gateway.users.models import RefreshToken, User
from sbtc_gateway.users.roles import Role, may_manage
from sbtc_gateway.users.schemas import UserListParams, UserUpdateParams

STATUSES = ("active", "disabled")


def insufficient(message: str) -> GatewayError:
    """Only an owner may do this: said in the words of the rule rather than of a permission."""
    return codes.INSUFFICIENT_PERMISSIONS(message=message)


@dataclass(frozen=True, slots=True)
class IssuedRefresh:
    """A new refresh token: the plaintext is returned to the client once and never stored."""

    plaintext: str = field(repr=False)
    family_id: str
    expires_at: int
    livemode: bool
    user: User


@dataclass(frozen=True, slots=True)
class Reused:
    family_id: str


def normalise_email(email: str | None, *, param: str = "email") -> str:
    if not email:
        raise codes.PARAMETER_MISSING(param=param)
    return email.strip().lower()


async def create_user(
    session: AsyncSession,
    merchant_id: str,
    *,
    email: str,
    password_hash: str,
    role: Role,
) -> User:
    email = normalise_email(email)
    if await repository.email_taken(session, merchant_id, email):
        raise codes.EMAIL_IN_USE(
            param="email", message="This account already has a user with this email."
        )
    user = User(
        id=new_id("usr"),
        merchant_id=merchant_id,
        email=email,
        password_hash=password_hash,
        role=role.value,
        status="active",
    )
    session.add(user)
    await session.flush()
    return user


async def check_login_rate(limiter: RateLimiter, email: str, *, per_minute: int) -> None:
    """At most `per_minute` login attempts per email (the edge limits them per IP too)."""
    per_email = hashlib.sha256(email.encode()).hexdigest()[:32]
    hit = await limiter.hit(f"login-email:{per_email}", per_minute, 60)
    if not hit.allowed:
        raise codes.RATE_LIMIT(
            message="Too many login attempts for this email. Retry after "
            f"{hit.retry_after} seconds.",
            headers={"Retry-After": str(hit.retry_after)},
        )


async def verify_credentials(
    session: AsyncSession, email: str, password: str, merchant: str | None
) -> User:
    """The user these credentials sign in (the password is verified after the read)."""
    candidates = await login_candidates(session, email, merchant)
    return await match_password(candidates, password)


async def replacement_hash(user: User, current_password: str, new_password: str) -> str:
    """The hash of a new password, once the current one is verified (no database work:
    argon2 takes a while, so the caller runs this outside any transaction)."""
    new = passwords.check_strength(new_password, param="new_password")
    if not await passwords.verify_password(user.password_hash, current_password):
        raise codes.PASSWORD_INCORRECT(param="current_password")
    return await passwords.hash_password(new)


async def login_candidates(session: AsyncSession, email: str, merchant: str | None) -> list[User]:
    candidates = await repository.login_candidates(session, email)
    if merchant is not None:
        candidates = [u for u in candidates if u.merchant_id == merchant]
    return candidates


async def match_password(candidates: list[User], password: str) -> User:
    """The one user these credentials belong to (no database work: verifying takes a while).

    With no candidate (an unknown email) one argon2 verify is still spent, so the time taken
    does not tell whether the email exists; the error is the same as for a wrong password.
    """
    if not candidates:
        await passwords.verify_password(None, password)
        raise codes.INVALID_CREDENTIALS()
    matched = [u for u in candidates if await passwords.verify_password(u.password_hash, password)]
    if not matched:
        raise codes.INVALID_CREDENTIALS()
    if len(matched) > 1:
        raise codes.PARAMETER_MISSING(
            param="merchant",
            message="This email signs in to several accounts: send `merchant` with the account id.",
        )
    return matched[0]


async def record_login(
    session: AsyncSession,
    user: User,
    *,
    password: str,
    livemode: bool,
    key_secret: str,
    ttl: int,
    now: int,
) -> IssuedRefresh:
    """Start a session for a user whose password matched (re-read: it may have changed since).
    A live-mode session needs an account activated for live mode."""
    if livemode:
        merchant = await merchants.get(session, user.merchant_id)
        if merchant.live_activated_at is None:
            raise codes.PARAMETER_INVALID(
                param="livemode", message="This account is not activated for live mode."
            )
    current = await repository.find(session, user.merchant_id, user.id)
    if current is None or current.status != "active" or current.password_hash != user.password_hash:
        raise codes.INVALID_CREDENTIALS()
    if passwords.needs_rehash(current.password_hash):
        current.password_hash = await passwords.hash_password(password)
    current.last_login_at = now
    return await start_session(
        session, current, livemode=livemode, key_secret=key_secret, ttl=ttl, now=now
    )


async def start_session(
    session: AsyncSession,
    user: User,
    *,
    livemode: bool,
    key_secret: str,
    ttl: int,
    now: int,
    family_id: str | None = None,
    token_id: str | None = None,
) -> IssuedRefresh:
    plaintext = tokens.new_refresh_token()
    family = family_id or new_id("rtf")
    expires = now + ttl
    session.add(
        RefreshToken(
            id=token_id or new_id("rtok"),
            family_id=family,
            user_id=user.id,
            merchant_id=user.merchant_id,
            digest=tokens.refresh_digest(key_secret, plaintext),
            livemode=livemode,
            created=now,
            expires_at=expires,
        )
    )
    await session.flush()
    return IssuedRefresh(plaintext, family, expires, livemode, user)


async def rotate(
    session: AsyncSession,
    presented: str,
    *,
    key_secret: str,
    ttl: int,
    now: int,
    max_session_seconds: int,
) -> IssuedRefresh | Reused:
    """Trade a refresh token for the next one of its family; a second use revokes the family.
    A family lives at most `max_session_seconds` from its login (its id's time), however often
    it is refreshed; the last token expires with it."""
    if not presented.startswith(tokens.REFRESH_PREFIX) or len(presented) > 128:
        raise codes.REFRESH_TOKEN_INVALID()
    old = await repository.token_by_digest(session, tokens.refresh_digest(key_secret, presented))
    if old is None or old.revoked_at is not None or old.expires_at <= now:
        raise codes.REFRESH_TOKEN_INVALID()
    session_ends = created_ms(old.family_id) // 1000 + max_session_seconds
    if session_ends <= now:
        raise codes.SESSION_EXPIRED()
    ttl = min(ttl, session_ends - now)
    if old.used_at is not None:
        await repository.revoke_family(session, old.family_id, now)
        return Reused(old.family_id)
    next_id = new_id("rtok")
    if not await repository.mark_used(session, old.id, next_id, now):
        # A concurrent refresh of the same token won: this one is a reuse.
        await repository.revoke_family(session, old.family_id, now)
        return Reused(old.family_id)
    user = await repository.find(session, old.merchant_id, old.user_id)
    if user is None or user.status != "active":
        raise codes.REFRESH_TOKEN_INVALID()
    return await start_session(
        session,
        user,
        livemode=old.livemode,
        key_secret=key_secret,
        ttl=ttl,
        now=now,
        family_id=old.family_id,
        token_id=next_id,
    )


async def end_session(session: AsyncSession, family_id: str, now: int) -> None:
    await repository.revoke_family(session, family_id, now)


async def list_users(
    session: AsyncSession, merchant_id: str, params: UserListParams
) -> tuple[list[User], bool]:
    return await repository.list_page(
        session,
        merchant_id,
        limit=check_limit(params.limit),
        starting_after=params.starting_after,
        ending_before=params.ending_before,
    )


async def get_user(session: AsyncSession, merchant_id: str, user_id: str) -> User:
    user = await repository.find(session, merchant_id, user_id)
    if user is None:
        raise codes.RESOURCE_MISSING(param="id", object="user", id=user_id)
    return user


async def _keeps_an_owner(session: AsyncSession, user: User, *, param: str) -> None:
    if (
        user.role == Role.OWNER
        and user.status == "active"
        and await repository.active_owners(session, user.merchant_id) <= 1
    ):
        raise codes.LAST_OWNER(param=param)


async def update_user(
    session: AsyncSession,
    permissions: frozenset[str],
    merchant_id: str,
    user_id: str,
    params: UserUpdateParams,
    now: int,
) -> User:
    """Change a user's role or status; either change ends the user's sessions."""
    if params.status is not None and params.status not in STATUSES:
        raise codes.PARAMETER_INVALID(
            param="status", message="status must be one of active, disabled."
        )
    await repository.lock_merchant(session, merchant_id)
    user = await get_user(session, merchant_id, user_id)
    if not may_manage(permissions, user.role):
        raise insufficient(f"Only owners can change an {user.role}'s role or status.")
    if params.role is not None and not may_manage(permissions, params.role):
        raise insufficient("Only owners can make a user an owner.")
    role = params.role.value if params.role is not None else user.role
    status = params.status or user.status
    if role == user.role and status == user.status:
        return user
    if role != Role.OWNER or status != "active":
        await _keeps_an_owner(session, user, param="role" if role != user.role else "status")
    user.role, user.status = role, status
    await repository.revoke_user(session, user.id, now)
    await session.flush()
    return user


async def delete_user(
    session: AsyncSession,
    permissions: frozenset[str],
    merchant_id: str,
    user_id: str,
) -> None:
    await repository.lock_merchant(session, merchant_id)
    user = await get_user(session, merchant_id, user_id)
    if not may_manage(permissions, user.role):
        raise insufficient(f"Only owners can delete an {user.role}.")
    await _keeps_an_owner(session, user, param="id")
    await repository.delete_user(session, user.id)


async def set_password(
    session: AsyncSession,
    user: User,
    *,
    new_hash: str,
    keep_family: str | None,
    now: int,
) -> User:
    """Store a new password hash (checked against the old password by the caller) and end every
    other session of the user."""
    current = await get_user(session, user.merchant_id, user.id)
    if current.password_hash != user.password_hash:
        raise codes.PASSWORD_CHANGED()
    current.password_hash = new_hash
    await repository.revoke_user(session, current.id, now, keep_family=keep_family)
    await session.flush()
    return current
