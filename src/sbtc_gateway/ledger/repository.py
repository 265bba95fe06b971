"""All SQL of the ledger. Merchant-facing reads are scoped to (merchant, livemode) and to the
merchant's own account; the sums for reconciliation and settlements are read-only aggregates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.db.paging import created_filter, finish_page, page_query
from sbtc_gateway.ledger.models import BalanceTransaction

MERCHANT = "merchant"


async def next_sequence(session: AsyncSession, account: str, type_: str, source_id: str) -> int:
    latest = await session.scalar(
        select(func.max(BalanceTransaction.sequence)).where(
            BalanceTransaction.account == account,
            BalanceTransaction.type == type_,
            BalanceTransaction.source_id == source_id,
        )
    )
    return int(latest or 0) + 1


async def get(
    session: AsyncSession, merchant_id: str, livemode: bool, txn_id: str
) -> BalanceTransaction | None:
    found: BalanceTransaction | None = await session.scalar(
        select(BalanceTransaction).where(
            BalanceTransaction.id == txn_id,
            BalanceTransaction.merchant_id == merchant_id,
            BalanceTransaction.livemode == livemode,
            BalanceTransaction.account == MERCHANT,
        )
    )
    return found


async def list_page(
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    *,
    type_: str | None,
    source_id: str | None,
    created: Any,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
) -> tuple[list[BalanceTransaction], bool]:
    query = select(BalanceTransaction).where(
        BalanceTransaction.merchant_id == merchant_id,
        BalanceTransaction.livemode == livemode,
        BalanceTransaction.account == MERCHANT,
    )
    if type_ is not None:
        query = query.where(BalanceTransaction.type == type_)
    if source_id is not None:
        query = query.where(BalanceTransaction.source_id == source_id)
    query = created_filter(query, BalanceTransaction.created, created)
    paged, reversed_ = page_query(
        query,
        BalanceTransaction.id,
        limit=limit,
        starting_after=starting_after,
        ending_before=ending_before,
    )
    return finish_page((await session.scalars(paged)).all(), limit, reversed_)


async def rows_between(
    session: AsyncSession, merchant_id: str, livemode: bool, start: int, end: int
) -> Sequence[tuple[int, str, int, int, int]]:
    """(created, type, amount, fee, net) of the merchant's rows created in [start, end)."""
    query = select(
        BalanceTransaction.created,
        BalanceTransaction.type,
        BalanceTransaction.amount,
        BalanceTransaction.fee,
        BalanceTransaction.net,
    ).where(
        BalanceTransaction.merchant_id == merchant_id,
        BalanceTransaction.livemode == livemode,
        BalanceTransaction.account == MERCHANT,
        BalanceTransaction.created >= start,
        BalanceTransaction.created < end,
    )
    rows = (await session.execute(query)).all()
    return [(int(c), str(t), int(a), int(f), int(n)) for c, t, a, f, n in rows]


async def platform_total(session: AsyncSession, source_id: str, types: Sequence[str]) -> int:
    """Σ of the platform account's rows of these types for one source (e.g. how much of a
    charge's fee was paid out and not reversed)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(BalanceTransaction.amount), 0)).where(
            BalanceTransaction.source_id == source_id,
            BalanceTransaction.account == "platform",
            BalanceTransaction.type.in_(list(types)),
        )
    )
    return int(total or 0)


async def received_by_principal(
    session: AsyncSession,
    livemode: bool,
    network: str,
    types: Sequence[str],
    column: str = "amount",
) -> dict[str, int]:
    """System use (reconciliation, every merchant): Σ `column` (amount, or net) per payout
    principal."""
    summed = BalanceTransaction.net if column == "net" else BalanceTransaction.amount
    query = (
        select(BalanceTransaction.principal, func.sum(summed))
        .where(
            BalanceTransaction.livemode == livemode,
            BalanceTransaction.network == network,
            BalanceTransaction.account == MERCHANT,
            BalanceTransaction.type.in_(list(types)),
            BalanceTransaction.principal.is_not(None),
        )
        .group_by(BalanceTransaction.principal)
    )
    return {str(p): int(total or 0) for p, total in (await session.execute(query)).all()}


async def platform_balance(session: AsyncSession, livemode: bool, network: str) -> int:
    """System use (reconciliation): Σ of the platform account's rows (fees held by the
    contract and not yet paid out)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(BalanceTransaction.amount), 0)).where(
            BalanceTransaction.livemode == livemode,
            BalanceTransaction.network == network,
            BalanceTransaction.account == "platform",
        )
    )
    return int(total or 0)
