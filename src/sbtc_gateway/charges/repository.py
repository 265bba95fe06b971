"""All SQL for charges. Merchant-facing queries are scoped to (merchant, livemode)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.charges.models import Charge
from sbtc_gateway.core.params import RangeFilter
from sbtc_gateway.db.paging import created_filter, finish_page, page_query


async def get(
    session: AsyncSession, merchant_id: str, livemode: bool, charge_id: str, *, lock: bool = False
) -> Charge | None:
    query = select(Charge).where(
        Charge.id == charge_id, Charge.merchant_id == merchant_id, Charge.livemode == livemode
    )
    if lock:
        query = query.with_for_update()
    found: Charge | None = await session.scalar(query)
    return found


async def list_page(
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    *,
    payment_intent: str | None,
    created: RangeFilter | int | None,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
) -> tuple[list[Charge], bool]:
    query = select(Charge).where(Charge.merchant_id == merchant_id, Charge.livemode == livemode)
    if payment_intent is not None:
        query = query.where(Charge.payment_intent_id == payment_intent)
    query = created_filter(query, Charge.created, created)
    paged, reversed_ = page_query(
        query, Charge.id, limit=limit, starting_after=starting_after, ending_before=ending_before
    )
    return finish_page((await session.scalars(paged)).all(), limit, reversed_)


async def search_page(
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    condition: ColumnElement[bool],
    *,
    limit: int,
    after_id: str | None,
) -> tuple[list[Charge], bool]:
    query = select(Charge).where(
        Charge.merchant_id == merchant_id, Charge.livemode == livemode, condition
    )
    if after_id:
        query = query.where(Charge.id < after_id)
    rows = (await session.scalars(query.order_by(Charge.id.desc()).limit(limit + 1))).all()
    return finish_page(rows, limit, False)


# --- system use (the watcher): not scoped, no merchant is calling ------------------------------


async def by_txid(session: AsyncSession, network: str, txid: str) -> Charge | None:
    found: Charge | None = await session.scalar(
        select(Charge).where(Charge.network == network, Charge.txid == txid).with_for_update()
    )
    return found


async def lock_by_id(session: AsyncSession, charge_id: str) -> Charge | None:
    found: Charge | None = await session.scalar(
        select(Charge).where(Charge.id == charge_id).with_for_update()
    )
    return found


async def succeeded_for_intent(session: AsyncSession, intent_id: str) -> Charge | None:
    """The intent's charge that moved money and was not reversed (there is at most one: the
    contract pays an intent id once)."""
    found: Charge | None = await session.scalar(
        select(Charge)
        .where(Charge.payment_intent_id == intent_id, Charge.status == "succeeded")
        .order_by(Charge.id.desc())
        .limit(1)
        .with_for_update()
    )
    return found


async def reorged(session: AsyncSession, network: str, livemode: bool) -> Sequence[Charge]:
    """Succeeded charges whose block was rolled back and that are not mined again yet."""
    query = select(Charge).where(
        Charge.network == network,
        Charge.livemode == livemode,
        Charge.status == "succeeded",
        Charge.reorged_at.is_not(None),
    )
    return (await session.scalars(query)).all()
