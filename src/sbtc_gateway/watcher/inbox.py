"""The two steps every chain fact starts with: its inbox entry, and the intent it names."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.chain import TransactionInfo
from sbtc_gateway.chainstate import repository
from sbtc_gateway.chainstate.models import ChainInboxEntry
from sbtc_gateway.payments import lifecycle
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.watcher.target import WatchTarget


async def intent_for(
    session: AsyncSession, target: WatchTarget, intent_id: str | None
) -> PaymentIntent | None:
    """The intent a chain fact names, locked, if it is one of this mode's."""
    if not intent_id or not intent_id.startswith("pi_"):
        return None
    pi = await lifecycle.lock_for_chain(session, intent_id)
    if pi is None or pi.livemode != target.livemode:
        return None
    return pi


async def inbox_entry(
    session: AsyncSession,
    target: WatchTarget,
    tx: TransactionInfo,
    *,
    event_index: int,
    kind: str,
    source: str,
    intent_id: str | None,
    payload: dict[str, Any],
) -> tuple[ChainInboxEntry, bool]:
    return await repository.upsert_inbox(
        session,
        network=target.network.name,
        txid=tx.tx_id,
        event_index=event_index,
        kind=kind,
        source=source,
        block_height=tx.block_height,
        block_hash=tx.block_hash,
        intent_id=intent_id,
        payload=payload,
    )
