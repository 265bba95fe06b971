"""All SQL of the operator outbox. System tables, not merchant-scoped.

Claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent workers split the due calls
instead of waiting on each other; SQLite has one writer, where the clause is left out. Every
later write is conditional on the lease holder and the status it expects, so a worker whose
lease was taken over changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.operator.models import OperatorCall, OperatorNonce
from sbtc_gateway.operator.state import HOLDS_NONCE, OPEN, CallStatus, sources

C = OperatorCall


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def add(session: AsyncSession, call: OperatorCall) -> None:
    session.add(call)


async def insert_new(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert calls, skipping any (network, function, intent) that already has one (a second
    worker's scan may insert the same calls at the same time). Returns how many were new."""
    if not rows:
        return 0
    stmt = (
        _insert(session)(C)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["network", "function", "intent_id"])
        .returning(C.id)
    )
    return len((await session.execute(stmt)).all())


def no_call_for(network: str, function: str, intent_id: Any) -> Any:
    """`NOT EXISTS` a call of `function` for the intent id column `intent_id` (for scans)."""
    return ~exists().where(C.network == network, C.function == function, C.intent_id == intent_id)


def _due(network: str, now: int, statuses: Iterable[CallStatus]) -> Any:
    return (
        select(C)
        .where(
            C.network == network,
            C.status.in_([s.value for s in statuses]),
            or_(C.lease_until.is_(None), C.lease_until <= now),
        )
        .order_by(C.created, C.id)
    )


async def has_due(
    session: AsyncSession, network: str, now: int, statuses: Iterable[CallStatus]
) -> bool:
    found = await session.scalar(_due(network, now, statuses).with_only_columns(C.id).limit(1))
    return found is not None


async def claim_due(
    session: AsyncSession, network: str, now: int, limit: int, statuses: Iterable[CallStatus]
) -> list[OperatorCall]:
    """Due calls, locked (others' locked rows are skipped); the caller leases them."""
    query = _due(network, now, statuses).limit(limit).with_for_update(skip_locked=True)
    return list((await session.scalars(query)).all())


async def lock_nonce(session: AsyncSession, network: str, sender: str) -> OperatorNonce:
    """The sender's nonce row, created at 0 if new, locked until the transaction ends."""
    await session.execute(
        _insert(session)(OperatorNonce)
        .values(network=network, sender=sender, next_nonce=0)
        .on_conflict_do_nothing(index_elements=["network", "sender"])
    )
    row = await session.scalar(
        select(OperatorNonce)
        .where(OperatorNonce.network == network, OperatorNonce.sender == sender)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def held_nonces(session: AsyncSession, network: str, sender: str) -> set[int]:
    """Nonces of this sender's transactions that are, or may still get, in the mempool."""
    rows = await session.scalars(
        select(C.nonce).where(
            C.network == network,
            C.sender == sender,
            C.status.in_([s.value for s in HOLDS_NONCE]),
            C.nonce.is_not(None),
        )
    )
    return {n for n in rows if n is not None}


async def lower_next_nonce(session: AsyncSession, network: str, sender: str, nonce: int) -> None:
    """A nonce was given up (its transaction cannot be mined): hand it out again if still free."""
    await session.execute(
        update(OperatorNonce)
        .where(
            OperatorNonce.network == network,
            OperatorNonce.sender == sender,
            OperatorNonce.next_nonce > nonce,
        )
        .values(next_nonce=nonce)
    )


async def move(
    session: AsyncSession,
    call_id: str,
    target: CallStatus,
    values: Mapping[str, Any],
    *,
    leased_by: str,
    expected: CallStatus,
) -> bool:
    """Move one call from `expected` to `target` if this worker still holds it."""
    assert expected in sources(target) or expected == target
    stmt = (
        update(C)
        .where(C.id == call_id, C.status == expected.value, C.leased_by == leased_by)
        .values(status=target.value, **values)
        .returning(C.id)
        .execution_options(synchronize_session=False)
    )
    return bool((await session.execute(stmt)).all())


async def finish_by_txid(
    session: AsyncSession,
    *,
    network: str,
    function: str,
    intent_id: str,
    txid: str,
    target: CallStatus,
    values: Mapping[str, Any],
) -> bool:
    """The chain says how this call's transaction ended, whoever holds the call right now."""
    stmt = (
        update(C)
        .where(
            C.network == network,
            C.function == function,
            C.intent_id == intent_id,
            C.txid == txid,
            C.status.in_([s.value for s in sources(target)]),
        )
        .values(status=target.value, **values)
        .returning(C.id)
        .execution_options(synchronize_session=False)
    )
    return bool((await session.execute(stmt)).all())


async def for_intent(session: AsyncSession, intent_id: str) -> list[OperatorCall]:
    query = select(C).where(C.intent_id == intent_id).order_by(C.created, C.id)
    return list((await session.scalars(query)).all())


async def open_count(session: AsyncSession, network: str) -> int:
    query = select(func.count()).where(C.network == network, C.status.in_([s.value for s in OPEN]))
    return int(await session.scalar(query) or 0)
