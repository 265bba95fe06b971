"""Depth, reorgs and lost payments (ADR 0011). Takes a session, never commits.

A rolled-back block's inbox entries become `orphaned`. A payment that was credited stays
`succeeded` and its charge waits (`reorged_at`) to be mined again; a refund goes `pending`.
Either comes back when the same transaction is mined again (the inbox re-applies it), or is
declared lost for good — reported `dropped_*` by the Stacks API, or not mined again within
`reinclusion_blocks` blocks — and then reversed: a `payment_reversal` (or `refund_failure`) row
in the ledger, and the intent told plainly (`payment_intent.payment_reversed`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.chainstate import repository
from sbtc_gateway.charges import repository as charges_repository
from sbtc_gateway.charges import service as charges
from sbtc_gateway.payments import lifecycle
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.refunds import repository as refunds_repository
from sbtc_gateway.refunds import service as refunds
from sbtc_gateway.watcher.inbox import intent_for
from sbtc_gateway.watcher.service import credit
from sbtc_gateway.watcher.target import WatchTarget

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class InLimbo:
    """A transaction whose block was rolled back, and since which tip height it waits."""

    txid: str
    object_id: str
    intent_id: str
    since: int


async def promote_deep(session: AsyncSession, target: WatchTarget, tip_height: int) -> int:
    """Payments that were waiting for more blocks and now have them: credited."""
    count = 0
    for entry in await repository.inbox_waiting(session, target.network.name):
        pi = await intent_for(session, target, entry.intent_id)
        if pi is None or entry.block_height is None or entry.object_id is None:
            entry.status = "ignored"
            continue
        if tip_height - entry.block_height + 1 < target.confirmations_for(pi.amount):
            continue
        charge = await charges_repository.lock_by_id(session, entry.object_id)
        if charge is None:
            entry.status = "ignored"
            continue
        entry.status, entry.note = "applied", None
        await credit(session, target, pi, charge, entry, tip_height)
        count += 1
    return count


async def rollback(
    session: AsyncSession, target: WatchTarget, fork_height: int, tip_height: int
) -> int:
    """Blocks above `fork_height` are no longer canonical: their inbox entries become
    `orphaned`; credited payments and refunds wait to be mined again. Returns how many
    payments and refunds now wait."""
    waiting = 0
    for entry in await repository.inbox_above(session, target.network.name, fork_height):
        was = entry.status
        entry.status, entry.note = "orphaned", f"block {entry.block_hash} rolled back"
        if was != "applied" or entry.object_id is None:
            continue  # a `waiting` payment simply waits again: nothing was promised yet
        if entry.kind == "refund":
            await refunds.chain_refund_orphaned(session, entry.object_id, tip=tip_height)
            waiting += 1
        elif entry.kind == "intent-paid":
            pi = await intent_for(session, target, entry.intent_id)
            charge = await charges_repository.lock_by_id(session, entry.object_id)
            if pi is not None and charge is not None:
                waiting += int(charges.mark_reorged(session, charge, tip=tip_height))
    await repository.forget_blocks_above(session, target.network.name, fork_height)
    return waiting


async def in_limbo(session: AsyncSession, target: WatchTarget) -> list[InLimbo]:
    """Every succeeded charge and refund of this network whose block was rolled back, except
    those of a chain the cursor has left (ADR 0202: stranded, never settled by another chain)."""
    stranded = await repository.stranded_txids(session, target.network.name)
    found = [
        InLimbo(c.txid, c.id, c.payment_intent_id, c.reorged_at)
        for c in await charges_repository.reorged(session, target.network.name, target.livemode)
        if c.reorged_at is not None and c.txid not in stranded
    ]
    for refund in await refunds_repository.reorged(session, target.livemode):
        if refund.txid is None or refund.reorged_at is None or refund.txid in stranded:
            continue
        found.append(InLimbo(refund.txid, refund.id, refund.payment_intent_id, refund.reorged_at))
    return found


async def settle_lost(
    session: AsyncSession, target: WatchTarget, tip_height: int, dropped: Collection[str]
) -> int:
    """Reverse what will not come back: dropped transactions, and those not mined again within
    `target.reinclusion_blocks` of the rollback. Returns how many were reversed."""
    reversed_count = 0
    for item in await in_limbo(session, target):
        if item.txid in dropped:
            reason = "the transaction was dropped from the chain's mempool"
        elif tip_height - item.since >= target.reinclusion_blocks:
            reason = f"not mined again within {target.reinclusion_blocks} blocks"
        else:
            continue
        pi = await intent_for(session, target, item.intent_id)  # the intent is locked first
        if pi is None:
            continue
        if item.object_id.startswith("re_"):
            lost = await refunds.chain_refund_lost(session, pi, item.object_id, reason)
            reversed_count += int(lost)
            continue
        reversed_count += await _reverse_charge(session, pi, item, reason)
    return reversed_count


async def _reverse_charge(
    session: AsyncSession, pi: PaymentIntent, item: InLimbo, reason: str
) -> int:
    charge = await charges_repository.lock_by_id(session, item.object_id)
    if charge is None or not await charges.reverse(session, charge, reason=reason):
        return 0
    if charge.late:  # money for a canceled intent that, after all, never arrived
        owed = (pi.late_payment or {}).get("refund")
        lifecycle.late_payment_reversed(session, pi, charge_id=charge.id, reason=reason)
        if isinstance(owed, str):
            await refunds.cancel_owed(session, owed, f"the payment was reversed: {reason}")
        return 1
    lifecycle.reversed_(session, pi, txid=charge.txid, charge_id=charge.id, reason=reason)
    log.warning("payment lost after a reorg", intent=pi.id, txid=charge.txid, reason=reason)
    return 1
