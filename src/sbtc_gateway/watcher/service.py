"""What the watcher does with what it sees on chain. Takes a session, never commits.

Every chain fact goes through the inbox first (`chain_inbox`, unique on network + txid + event
index), so seeing the same block, mempool entry or push twice changes nothing the second time.
This module is where one fact moves everything it concerns, in one transaction: the intent
(`payments.lifecycle`, checked against payments/state.py), its charge (`charges.service`), the
ledger row when money moved, and the refunds (ADR 0010, 0011). Locks are taken intent first,
then charge, then refund.

Money rules: a payment is matched by the intent id in the contract's `intent-paid` print event
AND checked against the intent: merchant (payout address), amount, fee, token and mode. Anything
that does not match is kept in the inbox as `mismatch` and reported on the intent, never
credited. A payment that lands for a canceled intent moved real money: it is recorded as paid
late, with the refund the merchant owes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.chain import TransactionInfo, TxStatus
from sbtc_gateway.chainstate.models import ChainInboxEntry
from sbtc_gateway.charges import service as charges
from sbtc_gateway.charges.models import Charge
from sbtc_gateway.payments import lifecycle
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.payments.state import Status
from sbtc_gateway.refunds import service as refunds
from sbtc_gateway.watcher import outflows
from sbtc_gateway.watcher.decode import (
    CONTRACT_ERRORS,
    CONTRACT_KEY,
    FEES_FUNCTION,
    PAY_FUNCTIONS,
    REFUND_FUNCTION,
    TX_ABORT,
    TX_LEVEL,
    call_args,
    contract_call,
    error_code,
    intent_id_of,
    print_events,
)
from sbtc_gateway.watcher.inbox import inbox_entry as _inbox
from sbtc_gateway.watcher.inbox import intent_for
from sbtc_gateway.watcher.target import WatchTarget

log = structlog.get_logger(__name__)


# --- mined transactions ---------------------------------------------------------------------


async def handle_mined(
    session: AsyncSession,
    target: WatchTarget,
    tx: TransactionInfo,
    *,
    tip_height: int,
    source: str,
) -> int:
    """A transaction in a canonical block. Returns how many inbox entries were new."""
    call = contract_call(tx)
    contract = call.get("contract_id") if call is not None else None
    if call is None or contract not in target.contracts:
        return 0
    assert isinstance(contract, str)
    function = call.get("function_name")
    if function == REFUND_FUNCTION:
        return await outflows.refund_mined(session, target, tx, call, source)
    if function == FEES_FUNCTION:
        return await outflows.fees_mined(session, target, tx, call, source)
    if function not in PAY_FUNCTIONS:
        return 0
    if tx.status is TxStatus.SUCCESS:
        new = 0
        for index, body in print_events(tx, contract, "intent-paid"):
            body = {**body, CONTRACT_KEY: contract}
            new += await _paid(session, target, tx, index, body, tip_height, source)
        return new
    if tx.status.value.startswith("abort"):
        return await _aborted(session, target, tx, call, source)
    return 0


async def _paid(
    session: AsyncSession,
    target: WatchTarget,
    tx: TransactionInfo,
    event_index: int,
    body: dict[str, Any],
    tip_height: int,
    source: str,
) -> int:
    intent_id = body.get("intent-id") if isinstance(body.get("intent-id"), str) else None
    assert tx.block_height is not None
    assert tx.block_hash is not None
    entry, created = await _inbox(
        session,
        target,
        tx,
        event_index=event_index,
        kind="intent-paid",
        source=source,
        intent_id=intent_id,
        payload=body,
    )
    if entry.status in ("applied", "mismatch", "ignored") and not created:
        return 0
    pi = await intent_for(session, target, intent_id)
    if pi is None:
        entry.status, entry.note = "ignored", "no such intent on this gateway"
        return int(created)
    problem = _mismatch(target, pi, body)
    if problem is None and pi.status == Status.SUCCEEDED and pi.txid != tx.tx_id:
        problem = "the intent already succeeded with another transaction"
    if problem is not None:
        entry.status, entry.note = "mismatch", problem
        lifecycle.mismatch(session, pi, txid=tx.tx_id, problem=problem)
        log.warning("chain payment mismatch", intent=pi.id, txid=tx.tx_id, problem=problem)
        return 1
    payer = body.get("payer") if isinstance(body.get("payer"), str) else None
    charge, _ = await charges.observed(
        session, pi, network=target.network.name, txid=tx.tx_id, payer=payer
    )
    entry.object_id = charge.id
    if charge.status == "succeeded":  # mined again after a reorg: it stays succeeded
        charges.reincluded(
            session, charge, block_height=tx.block_height, block_hash=tx.block_hash, tip=tip_height
        )
        if pi.txid == tx.tx_id:
            lifecycle.reincluded(pi, block_height=tx.block_height, block_hash=tx.block_hash)
        entry.status, entry.note = "applied", None
        return 1
    needed = target.confirmations_for(pi.amount)
    if tip_height - tx.block_height + 1 < needed:
        entry.status, entry.note = "waiting", f"needs {needed} blocks"
        lifecycle.processing(session, pi, txid=tx.tx_id, charge_id=charge.id)
        return 1
    entry.status, entry.note = "applied", None
    await credit(session, target, pi, charge, entry, tip_height)
    return 1


async def credit(
    session: AsyncSession,
    target: WatchTarget,
    pi: PaymentIntent,
    charge: Charge,
    entry: ChainInboxEntry,
    tip_height: int,
) -> None:
    """The payment is final: its charge succeeds (and the ledger records it), and the intent
    succeeds — or, if it was canceled, records a late payment and the refund owed."""
    assert entry.block_height is not None
    assert entry.block_hash is not None
    body = entry.payload
    contract = str(body.get(CONTRACT_KEY) or target.contract_of(pi.contract_id))
    amount, fee = int(body.get("amount", 0)), int(body.get("fee", 0))
    # The contract pays the fee to the fee recipient in the payment itself, unless the payer
    # is that recipient (then it holds it for `distribute-fees`). An event without the field
    # comes from a deployment that held every fee.
    held = body.get("fee-held") is not False
    late = pi.status == Status.CANCELED
    moved = await charges.succeed(
        session,
        charge,
        amount=amount,
        fee=fee,
        payer=body.get("payer"),
        block_height=entry.block_height,
        block_hash=entry.block_hash,
        late=late,
        tip=tip_height,
        fee_held=held,
    )
    if not moved:
        return
    lifecycle.belongs_to(pi, contract)
    if fee and not held:
        lifecycle.fee(session, pi, txid=charge.txid, status="distributed")
    if late:
        refund = await refunds.owe_for_late_payment(
            session, charge, network_name=target.network.name, contract_id=contract
        )
        lifecycle.paid_late(
            session,
            pi,
            charge_id=charge.id,
            txid=charge.txid,
            amount=amount,
            payer=charge.payer,
            refund_id=refund.id,
        )
        log.warning("payment after cancel", intent=pi.id, txid=charge.txid, refund=refund.id)
        return
    lifecycle.succeeded(
        session,
        pi,
        txid=charge.txid,
        charge_id=charge.id,
        amount_received=amount,
        payer=charge.payer,
        block_height=entry.block_height,
        block_hash=entry.block_hash,
    )


def _mismatch(target: WatchTarget, pi: PaymentIntent, body: dict[str, Any]) -> str | None:
    checks = [
        ("merchant", body.get("merchant"), pi.payout_address),
        ("amount", body.get("amount"), pi.amount),
        ("fee", body.get("fee"), pi.application_fee_amount),
        ("token", body.get("token"), target.network.sbtc_token),
        # paid through its signed terms (a merchant's own on-chain intent is another intent)
        ("signed", body.get("signed", True), True),
    ]
    if CONTRACT_KEY in body:
        # the deployment its terms were signed for (a signature is valid on that one only)
        checks.append(("contract", body[CONTRACT_KEY], target.contract_of(pi.contract_id)))
    for name, got, want in checks:
        if got != want:
            return f"{name} is {got!r}, expected {want!r}"
    return None


async def _aborted(
    session: AsyncSession,
    target: WatchTarget,
    tx: TransactionInfo,
    call: Mapping[str, Any],
    source: str,
) -> int:
    intent_id = intent_id_of(call)
    entry, created = await _inbox(
        session,
        target,
        tx,
        event_index=TX_ABORT,
        kind="payment-aborted",
        source=source,
        intent_id=intent_id,
        payload={
            "status": tx.status.value,
            "result": tx.tx_result_repr,
            "sender": tx.sender_address,
        },
    )
    if not created and entry.status != "orphaned":
        return 0
    pi = await intent_for(session, target, intent_id)
    if pi is None:
        entry.status, entry.note = "ignored", "no such intent on this gateway"
        return 1
    if tx.status is TxStatus.ABORT_BY_POST_CONDITION:
        name, message = "post_condition_failed", "The payment broke its post-conditions."
    else:
        name, message = CONTRACT_ERRORS.get(
            error_code(tx) or 0,
            ("payment_failed", f"The payment failed on chain ({tx.tx_result_repr})."),
        )
    charge = await _attempt(session, target, pi, tx, call)
    charges.fail(session, charge, failure_code=name, message=message)
    changed = lifecycle.failed(
        session, pi, txid=tx.tx_id, charge_id=charge.id, code=name, message=message
    )
    entry.status = "applied" if changed else "ignored"
    entry.note, entry.object_id = name, charge.id
    return 1


async def _attempt(
    session: AsyncSession,
    target: WatchTarget,
    pi: PaymentIntent,
    tx: TransactionInfo,
    call: Mapping[str, Any],
) -> Charge:
    """The charge of a payment call seen before its `intent-paid` event (in the mempool, or
    aborted): what it tried to pay is its fourth argument, who paid it its sender."""
    args = call_args(call)
    amount = args[3] if len(args) > 3 and isinstance(args[3], int) else None
    charge, _ = await charges.observed(
        session,
        pi,
        network=target.network.name,
        txid=tx.tx_id,
        payer=tx.sender_address,
        amount=amount,
    )
    return charge


# --- the mempool ----------------------------------------------------------------------------


async def handle_pending(
    session: AsyncSession, target: WatchTarget, tx: TransactionInfo, *, source: str
) -> int:
    """A payment transaction seen in the mempool: a pending charge, and the intent
    `processing` (never `succeeded`)."""
    call = contract_call(tx)
    if call is None or call.get("contract_id") not in target.contracts:
        return 0
    intent_id = intent_id_of(call)
    if intent_id is None or tx.status is not TxStatus.PENDING:
        return 0
    entry, created = await _inbox(
        session,
        target,
        tx,
        event_index=TX_LEVEL,
        kind="payment-pending",
        source=source,
        intent_id=intent_id,
        payload={"sender": tx.sender_address, "nonce": tx.nonce},
    )
    if not created and entry.status == "applied":
        return 0  # (an ignored sighting counts again: its intent may be waiting once more)
    pi = await intent_for(session, target, intent_id)
    if pi is None:
        entry.status = "ignored"
        return int(created)
    charge = await _attempt(session, target, pi, tx, call)
    entry.object_id = charge.id
    moved = lifecycle.processing(session, pi, txid=tx.tx_id, charge_id=charge.id)
    entry.status = "applied" if moved else "ignored"
    return 1
