"""All SQL for PaymentIntents. Every query is scoped to (merchant, livemode)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.db.paging import created_filter, finish_page, page_query
from sbtc_gateway.operator import repository as operator_repository
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.payments.state import EXPIRABLE, Status


async def get(
    session: AsyncSession, merchant_id: str, livemode: bool, intent_id: str, *, lock: bool = False
) -> PaymentIntent | None:
    query = select(PaymentIntent).where(
        PaymentIntent.id == intent_id,
        PaymentIntent.merchant_id == merchant_id,
        PaymentIntent.livemode == livemode,
    )
    if lock:
        query = query.with_for_update()
    result: PaymentIntent | None = await session.scalar(query)
    return result


async def list_page(
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    *,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
    created: Any,
) -> tuple[list[PaymentIntent], bool]:
    query = select(PaymentIntent).where(
        PaymentIntent.merchant_id == merchant_id, PaymentIntent.livemode == livemode
    )
    query = created_filter(query, PaymentIntent.created, created)
    paged, reversed_ = page_query(
        query,
        PaymentIntent.id,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
    )
    rows = (await session.scalars(paged)).all()
    return finish_page(rows, limit, reversed_)


async def search_page(
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    condition: ColumnElement[bool],
    *,
    limit: int,
    after_id: str | None,
) -> tuple[list[PaymentIntent], bool]:
    query = select(PaymentIntent).where(
        PaymentIntent.merchant_id == merchant_id,
        PaymentIntent.livemode == livemode,
        condition,
    )
    if after_id:
        query = query.where(PaymentIntent.id < after_id)
    rows = (await session.scalars(query.order_by(PaymentIntent.id.desc()).limit(limit + 1))).all()
    return finish_page(rows, limit, False)


async def expired_ids(session: AsyncSession, now: int, batch: int) -> Sequence[str]:
    """Intents past their expiry that nobody has paid: candidates for the sweep (all merchants)."""
    query = (
        select(PaymentIntent.id)
        .where(PaymentIntent.status.in_(list(EXPIRABLE)), PaymentIntent.expires_at <= now)
        .order_by(PaymentIntent.expires_at)
        .limit(batch)
    )
    return (await session.scalars(query)).all()


async def fees_without_call(
    session: AsyncSession, livemode: bool, network: str, function: str, batch: int
) -> Sequence[tuple[str, int, str | None]]:
    """System use (worker): succeeded intents whose fee is still held by their contract and
    that have no operator call yet, with their fee and contract (fees the payment paid to the
    recipient itself are `distributed` from the start)."""
    query = (
        select(PaymentIntent.id, PaymentIntent.application_fee_amount, PaymentIntent.contract_id)
        .where(
            PaymentIntent.livemode == livemode,
            PaymentIntent.status == "succeeded",
            PaymentIntent.application_fee_amount > 0,
            PaymentIntent.fee_status.is_(None),
            operator_repository.no_call_for(network, function, PaymentIntent.id),
        )
        .order_by(PaymentIntent.succeeded_at, PaymentIntent.id)
        .limit(batch)
    )
    rows = await session.execute(query)
    return [(row.id, row.application_fee_amount, row.contract_id) for row in rows]


async def lock_by_id(session: AsyncSession, intent_id: str) -> PaymentIntent | None:
    """System use only (sweeps, chain watcher): not scoped, since no merchant is calling."""
    result: PaymentIntent | None = await session.scalar(
        select(PaymentIntent).where(PaymentIntent.id == intent_id).with_for_update()
    )
    return result


async def awaiting_chain(
    session: AsyncSession, livemode: bool, now: int, limit: int
) -> list[PaymentIntent]:
    """System use (watcher reconciliation): every `processing` intent of a mode, and the most
    recently changed `requires_action` ones still within their lifetime."""
    processing = select(PaymentIntent).where(
        PaymentIntent.livemode == livemode, PaymentIntent.status == Status.PROCESSING
    )
    waiting = (
        select(PaymentIntent)
        .where(
            PaymentIntent.livemode == livemode,
            PaymentIntent.status == Status.REQUIRES_ACTION,
            PaymentIntent.expires_at > now,
        )
        .order_by(PaymentIntent.updated.desc())
        .limit(limit)
    )
    found = list((await session.scalars(processing)).all())
    found += list((await session.scalars(waiting)).all())
    return found


async def scope_of(session: AsyncSession, intent_id: str) -> tuple[str, bool] | None:
    """The (merchant, livemode) an intent belongs to, by its id alone. Only for a caller that
    proved it holds the intent's client secret (an HMAC of this very id): `access.py`."""
    row = (
        await session.execute(
            select(PaymentIntent.merchant_id, PaymentIntent.livemode).where(
                PaymentIntent.id == intent_id
            )
        )
    ).first()
    return (row[0], row[1]) if row is not None else None
