"""Money leaving after a payment, as the chain shows it: refunds (the merchant's wallet pays the
payer back with `refund-payment`) and fee distributions (the contract pays the fee out with
`distribute-fees`). Takes a session, never commits; intent first, then charge, then refund.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.chain import TransactionInfo, TxStatus
from sbtc_gateway.charges import repository as charges_repository
from sbtc_gateway.charges import service as charges
from sbtc_gateway.ledger import service as ledger
from sbtc_gateway.operator import service as operator
from sbtc_gateway.operator.calls import Function
from sbtc_gateway.payments import lifecycle
from sbtc_gateway.refunds import service as refunds
from sbtc_gateway.watcher.decode import (
    TX_LEVEL,
    call_args,
    error_code,
    intent_id_of_fee_call,
    print_events,
)
from sbtc_gateway.watcher.inbox import inbox_entry, intent_for
from sbtc_gateway.watcher.target import WatchTarget


async def refund_mined(
    session: AsyncSession,
    target: WatchTarget,
    tx: TransactionInfo,
    call: Mapping[str, Any],
    source: str,
) -> int:
    """A `refund-payment` call in a block: its refund succeeds (or fails if it aborted)."""
    args = call_args(call)
    intent_id = args[1] if len(args) > 1 and isinstance(args[1], str) else None
    amount = args[2] if len(args) > 2 and isinstance(args[2], int) else None
    if tx.status is TxStatus.SUCCESS:
        new = 0
        for index, body in print_events(tx, str(call.get("contract_id")), "refund"):
            entry, created = await inbox_entry(
                session,
                target,
                tx,
                event_index=index,
                kind="refund",
                source=source,
                intent_id=body.get("intent-id"),
                payload=body,
            )
            if not created and entry.status != "orphaned":
                continue
            new += 1
            pi = await intent_for(session, target, str(body.get("intent-id")))
            refund = None
            if pi is not None:
                refund = await refunds.chain_refunded(
                    session, pi, int(body.get("amount", 0)), tx.tx_id
                )
            entry.status = "applied" if refund is not None else "ignored"
            entry.object_id = refund.id if refund is not None else None
            entry.note = None if refund is not None else "no matching refund"
        return new
    if tx.status.value.startswith("abort") and intent_id and amount is not None:
        entry, created = await inbox_entry(
            session,
            target,
            tx,
            event_index=TX_LEVEL,
            kind="refund-aborted",
            source=source,
            intent_id=intent_id,
            payload={"result": tx.tx_result_repr, "status": tx.status.value},
        )
        if not created:
            return 0
        pi = await intent_for(session, target, intent_id)
        refund = None
        if pi is not None:
            reason = f"the refund failed on chain ({tx.tx_result_repr})"
            refund = await refunds.chain_refund_failed(session, pi, amount, tx.tx_id, reason)
        entry.status = "applied" if refund is not None else "ignored"
        entry.object_id = refund.id if refund is not None else None
        return 1
    return 0


async def fees_mined(
    session: AsyncSession,
    target: WatchTarget,
    tx: TransactionInfo,
    call: Mapping[str, Any],
    source: str,
) -> int:
    """A `distribute-fees` call in a block: the intent's fee is out (or the call failed)."""
    intent_id = intent_id_of_fee_call(call)
    ok = tx.status is TxStatus.SUCCESS
    entry, created = await inbox_entry(
        session,
        target,
        tx,
        event_index=TX_LEVEL,
        kind="fees-distributed" if ok else "fees-aborted",
        source=source,
        intent_id=intent_id,
        payload={"status": tx.status.value, "result": tx.tx_result_repr},
    )
    if not created and entry.status != "orphaned":
        return 0
    if intent_id is not None:  # the operator outbox's call, if this is its transaction
        await operator.chain_outcome(
            session,
            network=target.network.name,
            function=Function.DISTRIBUTE_FEES,
            intent_id=intent_id,
            txid=tx.tx_id,
            ok=ok,
            result=tx.tx_result_repr,
        )
    pi = await intent_for(session, target, intent_id)
    if pi is None:
        entry.status = "ignored"
        return 1
    if ok:
        lifecycle.fee(session, pi, txid=tx.tx_id, status="distributed")
        charge = await charges_repository.succeeded_for_intent(session, pi.id)
        if charge is not None and charge.application_fee_amount and created:
            await ledger.record_fee_payout(
                session,
                charges.movement(charge),
                fee=charge.application_fee_amount,
                description=f"fee of {pi.id} paid out ({tx.tx_id})",
            )
    elif error_code(tx) == 120 and pi.fee_status == "distributed":
        entry.status = "ignored"  # a second call for an already distributed fee
        return 1
    else:
        lifecycle.fee(session, pi, txid=tx.tx_id, status="failed")
    entry.status = "applied"
    return 1
