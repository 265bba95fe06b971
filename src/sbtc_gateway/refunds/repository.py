"""All SQL for refunds. Merchant-facing queries are scoped to (merchant, livemode)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.db.paging import finish_page, page_query
from sbtc_gateway.refunds.models import Refund

OPEN = ("requires_action", "pending", "succeeded")
# Refunds not yet on chain: a `refund` event may complete one of them.
UNPAID = ("requires_action",)


async def get(
    session: AsyncSession, merchant_id: str, livemode: bool, refund_id: str
) -> Refund | None:
    result: Refund | None = await session.scalar(
        select(Refund).where(
            Refund.id == refund_id, Refund.merchant_id == merchant_id, Refund.livemode == livemode
        )
    )
    return result


async def list_page(
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    *,
    payment_intent: str | None,
    charge: str | None = None,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
) -> tuple[list[Refund], bool]:
    query = select(Refund).where(Refund.merchant_id == merchant_id, Refund.livemode == livemode)
    if payment_intent is not None:
        query = query.where(Refund.payment_intent_id == payment_intent)
    if charge is not None:
        query = query.where(Refund.charge_id == charge)
    paged, reversed_ = page_query(
        query, Refund.id, limit=limit, starting_after=starting_after, ending_before=ending_before
    )
    return finish_page((await session.scalars(paged)).all(), limit, reversed_)


async def committed_total(session: AsyncSession, charge_id: str) -> int:
    """Sats refunded or on their way back for one charge (everything not failed/canceled)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(
            Refund.charge_id == charge_id, Refund.status.in_(OPEN)
        )
    )
    return int(total or 0)


async def for_charges(session: AsyncSession, charge_ids: Sequence[str]) -> dict[str, list[Refund]]:
    """Each charge's refunds, newest first (one query for a page of charges)."""
    if not charge_ids:
        return {}
    rows = await session.scalars(
        select(Refund).where(Refund.charge_id.in_(list(charge_ids))).order_by(Refund.id.desc())
    )
    found: dict[str, list[Refund]] = {}
    for refund in rows:
        found.setdefault(refund.charge_id or "", []).append(refund)
    return found


async def lock(session: AsyncSession, refund_id: str) -> Refund | None:
    """System use (watcher)."""
    found: Refund | None = await session.scalar(
        select(Refund).where(Refund.id == refund_id).with_for_update()
    )
    return found


async def reorged(session: AsyncSession, livemode: bool) -> Sequence[Refund]:
    """System use (watcher): refunds whose block was rolled back, waiting to be mined again."""
    query = select(Refund).where(
        Refund.livemode == livemode, Refund.status == "pending", Refund.reorged_at.is_not(None)
    )
    return (await session.scalars(query)).all()


async def awaiting_chain(
    session: AsyncSession, intent_id: str, amount: int, txid: str
) -> Refund | None:
    """System use (watcher): the refund a `refund` print event completes — the one already
    tied to this txid, else the oldest unpaid one of that amount."""
    tied = await session.scalar(
        select(Refund).where(Refund.payment_intent_id == intent_id, Refund.txid == txid)
    )
    if tied is not None:
        return tied
    result: Refund | None = await session.scalar(
        select(Refund)
        .where(
            Refund.payment_intent_id == intent_id,
            Refund.amount == amount,
            Refund.status.in_(UNPAID),
        )
        .order_by(Refund.created, Refund.id)
        .limit(1)
        .with_for_update()
    )
    return result
