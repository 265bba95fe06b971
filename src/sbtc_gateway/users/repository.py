"""All SQL of the users domain."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.db.paging import finish_page, page_query
from sbtc_gateway.merchants.models import Merchant
from sbtc_gateway.users.models import RefreshToken, User


@dataclass(frozen=True, slots=True)
class SessionState:
    """What an access token is checked against on every request (cached ≤ 1 s)."""

    merchant_id: str
    role: str
    tier: str


async def login_candidates(session: AsyncSession, email: str) -> list[User]:
    rows = await session.scalars(
        select(User)
        .join(Merchant, Merchant.id == User.merchant_id)
        .where(User.email == email, User.status == "active", Merchant.status == "active")
        .order_by(User.id)
    )
    return list(rows)


async def list_page(
    session: AsyncSession,
    merchant_id: str,
    *,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
) -> tuple[list[User], bool]:
    query, reversed_ = page_query(
        select(User).where(User.merchant_id == merchant_id),
        User.id,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
    )
    return finish_page(list(await session.scalars(query)), limit, reversed_)


async def find(session: AsyncSession, merchant_id: str, user_id: str) -> User | None:
    user = await session.get(User, user_id)
    if user is None or user.merchant_id != merchant_id:
        return None
    return user


async def email_taken(session: AsyncSession, merchant_id: str, email: str) -> bool:
    found = await session.scalar(
        select(User.id).where(User.merchant_id == merchant_id, User.email == email)
    )
    return found is not None


async def lock_merchant(session: AsyncSession, merchant_id: str) -> None:
    """Serialise owner changes of one merchant (so two demotions cannot both pass the check)."""
    await session.execute(select(Merchant.id).where(Merchant.id == merchant_id).with_for_update())


async def active_owners(session: AsyncSession, merchant_id: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.merchant_id == merchant_id, User.role == "owner", User.status == "active")
    )
    return int(count or 0)


async def token_by_digest(session: AsyncSession, digest: str) -> RefreshToken | None:
    found: RefreshToken | None = await session.scalar(
        select(RefreshToken).where(RefreshToken.digest == digest)
    )
    return found


async def mark_used(session: AsyncSession, token_id: str, replaced_by: str, now: int) -> bool:
    """Consume a refresh token if nobody has: the conditional UPDATE is the race's referee."""
    result = await session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == token_id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now, replaced_by=replaced_by)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def revoke_family(session: AsyncSession, family_id: str, now: int) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


async def revoke_user(
    session: AsyncSession, user_id: str, now: int, *, keep_family: str | None = None
) -> None:
    query = update(RefreshToken).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
    )
    if keep_family is not None:
        query = query.where(RefreshToken.family_id != keep_family)
    await session.execute(query.values(revoked_at=now).execution_options(synchronize_session=False))


async def session_state(
    session: AsyncSession, user_id: str, family_id: str, now: int
) -> SessionState | None:
    """The user's current role if the user, its merchant and this session are all alive."""
    alive = (
        select(RefreshToken.id)
        .where(
            RefreshToken.family_id == family_id,
            RefreshToken.user_id == user_id,
            RefreshToken.revoked_at.is_(None),
            RefreshToken.expires_at > now,
        )
        .exists()
    )
    row = (
        await session.execute(
            select(User.merchant_id, User.role, Merchant.tier)
            .join(Merchant, Merchant.id == User.merchant_id)
            .where(
                User.id == user_id,
                User.status == "active",
                Merchant.status == "active",
                alive,
            )
        )
    ).first()
    if row is None:
        return None
    return SessionState(merchant_id=row[0], role=row[1], tier=row[2])


async def delete_user(session: AsyncSession, user_id: str) -> None:
    await session.execute(delete(RefreshToken).where(RefreshToken.user_id == user_id))
    await session.execute(delete(User).where(User.id == user_id))
