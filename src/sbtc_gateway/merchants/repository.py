"""All SQL for merchants and their API keys."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.merchants.models import ApiKey, Merchant


async def email_taken(session: AsyncSession, email: str) -> bool:
    found = await session.scalar(select(Merchant.id).where(Merchant.email == email))
    return found is not None


async def get(session: AsyncSession, merchant_id: str) -> Merchant | None:
    return await session.get(Merchant, merchant_id)


async def terms_row(
    session: AsyncSession, merchant_id: str
) -> tuple[str, str | None, str, int | None] | None:
    """(stacks_address, live_stacks_address, tier, payment_expiry_seconds) of a merchant."""
    result = await session.execute(
        select(
            Merchant.stacks_address,
            Merchant.live_stacks_address,
            Merchant.tier,
            Merchant.payment_expiry_seconds,
        ).where(Merchant.id == merchant_id)
    )
    row = result.one_or_none()
    return None if row is None else (row[0], row[1], row[2], row[3])


async def lock_key(session: AsyncSession, key_id: str) -> ApiKey | None:
    return await session.get(ApiKey, key_id, with_for_update=True)


async def current_secret_key_id(
    session: AsyncSession, merchant_id: str, livemode: bool
) -> str | None:
    """The newest secret key of a mode that has not been rotated yet."""
    found: str | None = await session.scalar(
        select(ApiKey.id)
        .where(
            ApiKey.merchant_id == merchant_id,
            ApiKey.livemode == livemode,
            ApiKey.kind == "secret",
            ApiKey.revoked_at.is_(None),
            ApiKey.expires_at.is_(None),
        )
        .order_by(ApiKey.id.desc())
        .limit(1)
    )
    return found


async def keys_by_lookup(session: AsyncSession, lookup: str) -> list[tuple[ApiKey, str, str]]:
    """Every stored key with this lookup prefix, with its merchant's status and tier."""
    rows = await session.execute(
        select(ApiKey, Merchant.status, Merchant.tier)
        .join(Merchant, Merchant.id == ApiKey.merchant_id)
        .where(ApiKey.lookup == lookup)
    )
    return [(key, status, tier) for key, status, tier in rows.all()]


async def payout_addresses(session: AsyncSession, livemode: bool) -> list[str]:
    """System use (reconciliation): every merchant's current payout address of a mode."""
    column = Merchant.live_stacks_address if livemode else Merchant.stacks_address
    rows = await session.scalars(select(column).where(column.is_not(None)).distinct())
    return [str(address) for address in rows]
