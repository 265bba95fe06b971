"""Fee distribution (the seed's `distribute-fees`): which intents need the call, and what the
intent shows while it is on its way.

A payment pays its fee straight to the fee recipient (ADR 0100): the watcher marks the intent's
`sbtc.fee_status` `distributed` (with the payment's txid) when it credits it. Only a fee the
contract holds (the payer was the fee recipient, or a deployment that held every fee) needs a
`distribute-fees` transaction: the worker's scan enqueues one per such intent, on the contract
the intent was paid through (the operator outbox, ADR 0012, signs and sends it once). Its
`fee_status` is null until the call is signed, `pending` with its txid from then, and
`distributed` or `failed` when the watcher sees it mined (`failed` also when the outbox gives the
call up).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.operator import service as operator
from sbtc_gateway.operator.calls import Function
from sbtc_gateway.operator.state import CallStatus
from sbtc_gateway.operator.worker import CallUpdate
from sbtc_gateway.payments import repository
from sbtc_gateway.payments.cache import note_changed
from sbtc_gateway.payments.service import PaymentSettings

DISTRIBUTE_FUNCTION = Function.DISTRIBUTE_FEES.value


async def enqueue_fee_calls(
    session: AsyncSession, cfg: PaymentSettings, *, livemode: bool, batch: int
) -> int:
    """Queue `distribute-fees` for succeeded intents with a held fee and no call yet."""
    network = cfg.network(livemode)
    due = await repository.fees_without_call(session, livemode, network, DISTRIBUTE_FUNCTION, batch)
    requests = []
    for intent_id, fee, contract_id in due:
        contract = cfg.contract_of(livemode, contract_id)
        assert contract is not None
        requests.append(
            operator.CallRequest(network, contract, Function.DISTRIBUTE_FEES, intent_id, fee)
        )
    return await operator.enqueue_missing(session, requests)


async def record_call(session: AsyncSession, update: CallUpdate) -> None:
    """The outbox signed (`pending`) or gave up (`failed`) an intent's fee call."""
    if update.function != DISTRIBUTE_FUNCTION:
        return
    pi = await repository.lock_by_id(session, update.intent_id)
    if pi is None or pi.fee_status == "distributed":
        return
    pi.fee_status = "pending" if update.status is CallStatus.SIGNED else "failed"
    if update.txid is not None:
        pi.fee_txid = update.txid
    note_changed(session.sync_session, pi.id)
