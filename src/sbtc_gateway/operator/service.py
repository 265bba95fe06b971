"""The operator outbox's entry points for the other domains: a call is enqueued in the caller's
transaction (so the change that wants it and the call commit together), and the watcher reports
how a call's transaction ended. `operator/worker.py` signs and sends the calls (ADR 0012)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.core.ids import new_id
from sbtc_gateway.operator import repository
from sbtc_gateway.operator.calls import Function
from sbtc_gateway.operator.models import OperatorCall
from sbtc_gateway.operator.state import CallStatus

S = CallStatus


# --- enqueueing (in the caller's transaction) ---------------------------------------------------


def enqueue(
    session: AsyncSession,
    *,
    network: str,
    contract_id: str,
    function: Function,
    intent_id: str,
    amount: int | None = None,
) -> None:
    """Add one call in the caller's transaction. The caller makes sure it happens once per
    intent (a cancel is final); scans that may race use `enqueue_missing`."""
    now = int(time.time())
    repository.add(
        session,
        OperatorCall(
            id=new_id("opc"),
            network=network,
            function=function.value,
            intent_id=intent_id,
            contract_id=contract_id,
            amount=amount,
            status=S.QUEUED.value,
            attempts=0,
            created=now,
            updated=now,
        ),
    )


@dataclass(frozen=True, slots=True)
class CallRequest:
    network: str
    contract_id: str
    function: Function
    intent_id: str
    amount: int | None = None


async def enqueue_missing(session: AsyncSession, requests: Sequence[CallRequest]) -> int:
    """Add the calls that do not exist yet. Returns how many were new."""
    now = int(time.time())
    rows = [
        {
            "id": new_id("opc"),
            "network": r.network,
            "function": r.function.value,
            "intent_id": r.intent_id,
            "contract_id": r.contract_id,
            "amount": r.amount,
            "status": S.QUEUED.value,
            "attempts": 0,
            "created": now,
            "updated": now,
        }
        for r in requests
    ]
    return await repository.insert_new(session, rows)


# --- what the chain says (the watcher) -----------------------------------------------------------


async def chain_outcome(
    session: AsyncSession,
    *,
    network: str,
    function: Function,
    intent_id: str,
    txid: str,
    ok: bool,
    result: str | None,
) -> bool:
    """The call's transaction is in a canonical block: `confirmed`, or `failed` if it aborted.
    A transaction that is not the call's stored one changes nothing."""
    now = int(time.time())
    target = S.CONFIRMED if ok else S.FAILED
    values: dict[str, object] = {"completed_at": now, "updated": now, "leased_by": None}
    if not ok:
        values["last_error"] = result
    return await repository.finish_by_txid(
        session,
        network=network,
        function=function.value,
        intent_id=intent_id,
        txid=txid,
        target=target,
        values=values,
    )


async def calls_for_intent(session: AsyncSession, intent_id: str) -> list[OperatorCall]:
    return await repository.for_intent(session, intent_id)
