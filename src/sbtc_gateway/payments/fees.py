"""Fee distribution (the seed's `distribute-fees`): which intents need the call, and what the
intent shows while it is on its way.

The worker's scan enqueues one `distribute-fees` call per succeeded intent with a fee (the
operator outbox, ADR 0012, signs and sends it once). The intent's `sbtc.fee_status` is null until
the call is signed, `pending` with its txid from then, and `distributed` or `failed` when the
watcher sees it mined (`failed` also when the outbox gives the call up).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.operator import service as operator
from sbtc_gateway.operator.calls import Function
from sbtc_gateway.operator.state import CallStatus
from sbtc_gateway.operator.worker import CallUpdate
from sbtc_gateway.payments import repository
from sbtc_gateway.payments.cache import note_changed

DISTRIBUTE_FUNCTION = Function.DISTRIBUTE_FEES.value


async def enqueue_fee_calls(
    session: AsyncSession, *, network: str, contract_id: str, livemode: bool, batch: int
) -> int:
    """Queue `distribute-fees` for succeeded intents with a fee and no call yet."""
    due = await repository.fees_without_call(session, livemode, network, DISTRIBUTE_FUNCTION, batch)
    requests = [
        operator.CallRequest(network, contract_id, Function.DISTRIBUTE_FEES, intent_id, fee)
        for intent_id, fee in due
    ]
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
