"""What the watcher does with what it sees on chain. Takes a session, never commits.

Every chain fact goes through the inbox first (`chain_inbox`, unique on network + txid + event
index), so seeing the same block, mempool entry or push twice changes nothing the second time.
Intents move only through `payments.service`'s `chain_*` transitions (checked against
payments/state.py, with the event recorded in the same transaction).

Money rules: a payment is matched by the intent id in the contract's `intent-paid` print event
AND checked against the intent: merchant (payout address), amount, fee, token and mode. Anything
that does not match is kept in the inbox as `mismatch` and reported on the intent
(`last_payment_error`, a `payment_intent.payment_failed` event): never silently dropped, never
credited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.chain import (
    NONE,
    Bool,
    ContractPrincipal,
    Int,
    Ok,
    Some,
    StandardPrincipal,
    StringAscii,
    StringUtf8,
    TransactionInfo,
    Tuple,
    TxStatus,
    UInt,
    deserialize,
)
from sbtc_gateway.chain.clarity import ClarityValue
from sbtc_gateway.chain.networks import Network
from sbtc_gateway.operator import service as operator
from sbtc_gateway.operator.calls import Function
from sbtc_gateway.payments import repository as payment_repository
from sbtc_gateway.payments import service as payments
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.payments.state import Status
from sbtc_gateway.refunds import service as refunds
from sbtc_gateway.watcher import repository

log = structlog.get_logger(__name__)

PAY_FUNCTIONS = frozenset({"pay-signed-intent", "process-payment"})
REFUND_FUNCTION = "refund-payment"
FEES_FUNCTION = "distribute-fees"
TX_LEVEL = -1  # event_index of a transaction-level fact (mempool sighting, abort)

# Contract error codes worth naming in `last_payment_error` (contract header, ERROR CODES).
CONTRACT_ERRORS: Mapping[int, tuple[str, str]] = {
    102: ("gateway_paused", "The payment contract is paused."),
    103: ("wrong_token", "The payment was made with a token other than sBTC."),
    105: ("merchant_not_registered", "The merchant is not registered with the contract."),
    106: ("merchant_inactive", "The merchant is suspended on chain."),
    107: ("intent_already_used", "This intent id was already used on chain."),
    109: ("already_paid", "This PaymentIntent was already paid."),
    110: ("payment_expired", "The payment arrived after the intent's expiry height."),
    111: ("intent_revoked", "The signed intent was revoked."),
    113: ("invalid_fee", "The fee is above the contract's cap."),
    114: ("bad_signature", "The payment's signed terms did not verify."),
    115: ("insufficient_funds", "The payer's sBTC balance is below the amount."),
    124: ("self_payment", "The payer is the merchant."),
}


@dataclass(frozen=True, slots=True)
class WatchTarget:
    """One network the watcher follows: its contract, and which intents pay there."""

    network: Network
    contract_id: str
    livemode: bool
    large_payment_sats: int = 10_000_000
    large_payment_confirmations: int = 6

    def confirmations_for(self, amount: int) -> int:
        return self.large_payment_confirmations if amount >= self.large_payment_sats else 1


def py(value: ClarityValue | None) -> Any:
    """A Clarity value as plain Python (ints, strings, principals as text, tuples as dicts)."""
    if isinstance(value, UInt | Int):
        return value.value
    if isinstance(value, StringAscii | StringUtf8):
        return value.text
    if isinstance(value, Bool):
        return value.value
    if isinstance(value, StandardPrincipal):
        return value.address
    if isinstance(value, ContractPrincipal):
        return value.contract_id
    if isinstance(value, Tuple):
        return {k: py(v) for k, v in value.fields.items()}
    if isinstance(value, Some | Ok):
        return py(value.value)
    if value is NONE:
        return None
    return None if value is None else repr(value)


def contract_call(tx: TransactionInfo) -> Mapping[str, Any] | None:
    call = tx.raw.get("contract_call")
    return call if isinstance(call, Mapping) else None


def call_args(call: Mapping[str, Any]) -> list[Any]:
    out: list[Any] = []
    for arg in call.get("function_args") or ():
        try:
            out.append(py(deserialize(bytes.fromhex(str(arg.get("hex", "")).removeprefix("0x")))))
        except Exception:  # an argument we cannot decode is simply unknown
            out.append(None)
    return out


def intent_id_of(call: Mapping[str, Any]) -> str | None:
    """The intent id a payment call names (its second argument, after the token)."""
    args = call_args(call)
    if call.get("function_name") in PAY_FUNCTIONS and len(args) >= 2:
        value = args[1]
        return value if isinstance(value, str) else None
    return None


def error_code(tx: TransactionInfo) -> int | None:
    """`(err uN)` of an aborted call, from `tx_result.repr`."""
    text = tx.tx_result_repr or ""
    if text.startswith("(err u"):
        try:
            return int(text.removeprefix("(err u").rstrip(")"))
        except ValueError:
            return None
    return None


async def _intent(
    session: AsyncSession, target: WatchTarget, intent_id: str | None
) -> PaymentIntent | None:
    if not intent_id or not intent_id.startswith("pi_"):
        return None
    pi = await payments.lock_for_chain(session, intent_id)
    if pi is None or pi.livemode != target.livemode:
        return None
    return pi


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
    if call is None or call.get("contract_id") != target.contract_id:
        return 0
    if call.get("function_name") == REFUND_FUNCTION:
        return await _refund_mined(session, target, tx, call, source)
    if call.get("function_name") == FEES_FUNCTION:
        return await _fees_mined(session, target, tx, call, source)
    if call.get("function_name") not in PAY_FUNCTIONS:
        return 0
    assert tx.block_height is not None
    assert tx.block_hash is not None
    if tx.status is TxStatus.SUCCESS:
        new = 0
        for event in tx.events:
            if event.event_type != "smart_contract_log" or event.contract_id != target.contract_id:
                continue
            body = py(event.value)
            if not isinstance(body, dict) or body.get("event") != "intent-paid":
                continue
            new += await _paid(session, target, tx, event.event_index, body, tip_height, source)
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
    entry, created = await repository.upsert_inbox(
        session,
        network=target.network.name,
        txid=tx.tx_id,
        event_index=event_index,
        kind="intent-paid",
        source=source,
        block_height=tx.block_height,
        block_hash=tx.block_hash,
        intent_id=intent_id,
        payload=body,
    )
    if entry.status in ("applied", "mismatch", "ignored") and not created:
        return 0
    pi = await _intent(session, target, intent_id)
    if pi is None:
        entry.status, entry.note = "ignored", "no such intent on this gateway"
        return int(created)
    problem = _mismatch(target, pi, body)
    if problem is None and pi.status == Status.CANCELED:
        problem = "the intent was canceled before the payment landed"
    if problem is not None:
        entry.status, entry.note = "mismatch", problem
        payments.chain_mismatch(session, pi, txid=tx.tx_id, problem=problem)
        log.warning("chain payment mismatch", intent=pi.id, txid=tx.tx_id, problem=problem)
        return 1
    depth = tip_height - tx.block_height + 1
    if depth < target.confirmations_for(pi.amount):
        entry.status, entry.note = "waiting", f"needs {target.confirmations_for(pi.amount)} blocks"
        payments.chain_processing(session, pi, tx.tx_id)
        return 1
    entry.status, entry.note = "applied", None
    if pi.status == Status.SUCCEEDED:
        if pi.txid != tx.tx_id:
            entry.status, entry.note = "mismatch", "intent already succeeded with another tx"
        return 1
    payments.chain_succeeded(
        session,
        pi,
        txid=tx.tx_id,
        amount_received=int(body["amount"]),
        block_height=tx.block_height,
        block_hash=tx.block_hash,
    )
    return 1


def _mismatch(target: WatchTarget, pi: PaymentIntent, body: dict[str, Any]) -> str | None:
    checks = [
        ("merchant", body.get("merchant"), pi.payout_address),
        ("amount", body.get("amount"), pi.amount),
        ("fee", body.get("fee"), pi.application_fee_amount),
        ("token", body.get("token"), target.network.sbtc_token),
    ]
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
    code = error_code(tx)
    entry, created = await repository.upsert_inbox(
        session,
        network=target.network.name,
        txid=tx.tx_id,
        event_index=TX_LEVEL,
        kind="payment-aborted",
        source=source,
        block_height=tx.block_height,
        block_hash=tx.block_hash,
        intent_id=intent_id,
        payload={
            "status": tx.status.value,
            "result": tx.tx_result_repr,
            "sender": tx.sender_address,
        },
    )
    if not created and entry.status != "orphaned":
        return 0
    pi = await _intent(session, target, intent_id)
    if pi is None:
        entry.status, entry.note = "ignored", "no such intent on this gateway"
        return 1
    if tx.status is TxStatus.ABORT_BY_POST_CONDITION:
        name, message = "post_condition_failed", "The payment broke its post-conditions."
    else:
        name, message = CONTRACT_ERRORS.get(
            code or 0, ("payment_failed", f"The payment failed on chain ({tx.tx_result_repr}).")
        )
    changed = payments.chain_failed(session, pi, txid=tx.tx_id, code=name, message=message)
    entry.status = "applied" if changed else "ignored"
    entry.note = name
    return 1


async def _refund_mined(
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
    new = 0
    if tx.status is TxStatus.SUCCESS:
        for event in tx.events:
            body = py(event.value) if event.event_type == "smart_contract_log" else None
            if event.contract_id != target.contract_id or not isinstance(body, dict):
                continue
            if body.get("event") != "refund":
                continue
            entry, created = await repository.upsert_inbox(
                session,
                network=target.network.name,
                txid=tx.tx_id,
                event_index=event.event_index,
                kind="refund",
                source=source,
                block_height=tx.block_height,
                block_hash=tx.block_hash,
                intent_id=body.get("intent-id"),
                payload=body,
            )
            if not created and entry.status != "orphaned":
                continue
            new += 1
            refund = await refunds.chain_refunded(
                session, str(body.get("intent-id")), int(body.get("amount", 0)), tx.tx_id
            )
            entry.status = "applied" if refund is not None else "ignored"
            entry.note = refund.id if refund is not None else "no matching refund"
        return new
    if tx.status.value.startswith("abort") and intent_id and amount is not None:
        entry, created = await repository.upsert_inbox(
            session,
            network=target.network.name,
            txid=tx.tx_id,
            event_index=TX_LEVEL,
            kind="refund-aborted",
            source=source,
            block_height=tx.block_height,
            block_hash=tx.block_hash,
            intent_id=intent_id,
            payload={"result": tx.tx_result_repr, "status": tx.status.value},
        )
        if not created:
            return 0
        refund = await refunds.chain_refund_failed(
            session,
            intent_id,
            amount,
            tx.tx_id,
            f"the refund failed on chain ({tx.tx_result_repr})",
        )
        entry.status = "applied" if refund is not None else "ignored"
        return 1
    return 0


async def _fees_mined(
    session: AsyncSession,
    target: WatchTarget,
    tx: TransactionInfo,
    call: Mapping[str, Any],
    source: str,
) -> int:
    """A `distribute-fees` call in a block: the intent's fee is out (or the call failed)."""
    intent_id = intent_id_of_fee_call(call)
    ok = tx.status is TxStatus.SUCCESS
    entry, created = await repository.upsert_inbox(
        session,
        network=target.network.name,
        txid=tx.tx_id,
        event_index=TX_LEVEL,
        kind="fees-distributed" if ok else "fees-aborted",
        source=source,
        block_height=tx.block_height,
        block_hash=tx.block_hash,
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
    pi = await _intent(session, target, intent_id)
    if pi is None:
        entry.status = "ignored"
        return 1
    code = error_code(tx)
    if ok:
        payments.chain_fee(session, pi, txid=tx.tx_id, status="distributed")
    elif code == 120 and pi.fee_status == "distributed":
        entry.status = "ignored"  # a second call for an already distributed fee
        return 1
    else:
        payments.chain_fee(session, pi, txid=tx.tx_id, status="failed")
    entry.status = "applied"
    return 1


def intent_id_of_fee_call(call: Mapping[str, Any]) -> str | None:
    args = call_args(call)
    return args[1] if len(args) > 1 and isinstance(args[1], str) else None


# --- the mempool ----------------------------------------------------------------------------


async def handle_pending(
    session: AsyncSession, target: WatchTarget, tx: TransactionInfo, *, source: str
) -> int:
    """A payment transaction seen in the mempool: `processing`, never `succeeded`."""
    call = contract_call(tx)
    if call is None or call.get("contract_id") != target.contract_id:
        return 0
    intent_id = intent_id_of(call)
    if intent_id is None or tx.status is not TxStatus.PENDING:
        return 0
    entry, created = await repository.upsert_inbox(
        session,
        network=target.network.name,
        txid=tx.tx_id,
        event_index=TX_LEVEL,
        kind="payment-pending",
        source=source,
        block_height=None,
        block_hash=None,
        intent_id=intent_id,
        payload={"sender": tx.sender_address, "nonce": tx.nonce},
    )
    if not created and entry.status != "ignored":
        return 0  # (an ignored sighting counts again: its intent may be waiting once more)
    pi = await _intent(session, target, intent_id)
    if pi is None or pi.status != Status.REQUIRES_ACTION:
        entry.status = "ignored"
        return int(created)
    payments.chain_processing(session, pi, tx.tx_id)
    entry.status = "applied"
    return 1


# --- depth, reorgs, reconciliation ----------------------------------------------------------


async def promote_deep(session: AsyncSession, target: WatchTarget, tip_height: int) -> int:
    """Payments that were waiting for more blocks and now have them: `succeeded`."""
    count = 0
    for entry in await repository.inbox_waiting(session, target.network.name):
        pi = await _intent(session, target, entry.intent_id)
        if pi is None or entry.block_height is None or entry.block_hash is None:
            entry.status = "ignored"
            continue
        if tip_height - entry.block_height + 1 < target.confirmations_for(pi.amount):
            continue
        entry.status, entry.note = "applied", None
        if payments.chain_succeeded(
            session,
            pi,
            txid=entry.txid,
            amount_received=int(entry.payload.get("amount", 0)),
            block_height=entry.block_height,
            block_hash=entry.block_hash,
        ):
            count += 1
    return count


async def rollback(session: AsyncSession, target: WatchTarget, fork_height: int) -> int:
    """Blocks above `fork_height` are no longer canonical: their inbox entries become
    `orphaned` and their payments go back to `processing` (with an event); they re-confirm when
    the transactions are mined again. Returns how many intents moved back."""
    moved = 0
    for entry in await repository.inbox_above(session, target.network.name, fork_height):
        was = entry.status
        entry.status, entry.note = "orphaned", f"block {entry.block_hash} rolled back"
        if was not in ("applied", "waiting"):
            continue
        if entry.kind == "refund" and was == "applied" and entry.note:
            await refunds.chain_refund_orphaned(session, entry.note)
            continue
        pi = await _intent(session, target, entry.intent_id)
        if pi is None:
            continue
        paid_here = entry.kind == "intent-paid" and pi.txid == entry.txid
        if paid_here and payments.chain_processing(session, pi, entry.txid):
            moved += 1
    await repository.forget_blocks_above(session, target.network.name, fork_height)
    return moved


async def pending_intents(
    session: AsyncSession, target: WatchTarget, *, now: int, limit: int = 200
) -> list[PaymentIntent]:
    """What reconciliation re-checks: every `processing` intent, and the most recently changed
    `requires_action` ones still within their lifetime (older ones are canceled by the expiry
    sweep; a payment landing after that is still seen by the block follower, as a mismatch)."""
    return await payment_repository.awaiting_chain(session, target.livemode, now, limit)
