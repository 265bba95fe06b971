"""The intent's side of what the chain did: transitions driven by the watcher.

Each function takes an intent the caller has locked, checks the transition against
`payments/state.py`, and records the event in the same transaction. They return False when
there is nothing to do, so handling a chain fact twice changes nothing. The charge and the
ledger are moved by the caller (`watcher/service.py`) in the same transaction.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.core.origin import SYSTEM
from sbtc_gateway.payments import repository
from sbtc_gateway.payments.cache import note_changed
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.payments.service import emit, touch
from sbtc_gateway.payments.state import (
    EVENT_FOR,
    PAID_LATE,
    PAYABLE,
    PAYMENT_FAILED,
    PAYMENT_REVERSED,
    Status,
    check_transition,
)


async def lock_for_chain(session: AsyncSession, intent_id: str) -> PaymentIntent | None:
    return await repository.lock_by_id(session, intent_id)


def processing(session: AsyncSession, pi: PaymentIntent, *, txid: str, charge_id: str) -> bool:
    """A payment transaction was seen (mempool, or a block not yet deep enough)."""
    if pi.status == Status.PROCESSING and pi.txid == txid:
        return False
    if pi.status not in (Status.REQUIRES_ACTION, Status.REQUIRES_PAYMENT_METHOD):
        return False
    check_transition(pi.id, pi.status, Status.PROCESSING, "process")
    previous = {"status": pi.status, "latest_charge": pi.latest_charge_id}
    pi.status = Status.PROCESSING
    pi.txid = txid
    pi.latest_charge_id = charge_id
    pi.last_payment_error = None
    touch(pi)
    emit(session, pi, EVENT_FOR[Status.PROCESSING], SYSTEM, previous)
    return True


def succeeded(
    session: AsyncSession,
    pi: PaymentIntent,
    *,
    txid: str,
    charge_id: str,
    amount_received: int,
    payer: str | None,
    block_height: int,
    block_hash: str,
) -> bool:
    """The payment succeeded in a canonical block, buried deep enough. Once per payment."""
    if pi.status not in PAYABLE:
        return False
    check_transition(pi.id, pi.status, Status.SUCCEEDED, "succeed")
    previous = {"status": pi.status, "amount_received": pi.amount_received}
    pi.status = Status.SUCCEEDED
    pi.txid = txid
    pi.latest_charge_id = charge_id
    pi.amount_received = amount_received
    pi.payer = payer or pi.payer
    pi.block_height, pi.block_hash = block_height, block_hash
    pi.succeeded_at = int(time.time())
    pi.next_action = None
    pi.last_payment_error = None
    touch(pi)
    emit(session, pi, EVENT_FOR[Status.SUCCEEDED], SYSTEM, previous)
    return True


def reincluded(pi: PaymentIntent, *, block_height: int, block_hash: str) -> None:
    """Its payment was mined again after a reorg: only where it is changes (no event)."""
    pi.block_height, pi.block_hash = block_height, block_hash
    touch(pi)


def failed(
    session: AsyncSession,
    pi: PaymentIntent,
    *,
    txid: str,
    charge_id: str,
    code: str,
    message: str,
) -> bool:
    """The payment transaction failed on chain (aborted): the intent needs a new attempt."""
    if pi.status not in (Status.REQUIRES_ACTION, Status.PROCESSING):
        return False
    if pi.status == Status.PROCESSING and pi.txid not in (None, txid):
        return False  # another transaction is paying this intent; this one does not matter
    check_transition(pi.id, pi.status, Status.REQUIRES_PAYMENT_METHOD, "fail")
    previous = {"status": pi.status, "next_action": pi.next_action}
    pi.status = Status.REQUIRES_PAYMENT_METHOD
    pi.next_action = None
    pi.latest_charge_id = charge_id
    pi.last_payment_error = _error("card_error", code, message, txid, charge_id)
    pi.txid = None
    touch(pi)
    emit(session, pi, PAYMENT_FAILED, SYSTEM, previous)
    return True


def tx_gone(
    session: AsyncSession, pi: PaymentIntent, *, txid: str, charge_id: str | None, reason: str
) -> bool:
    """The payment transaction was dropped or replaced before it was mined: back to waiting
    for the wallet (the signed call still stands until its expiry height)."""
    if pi.status != Status.PROCESSING or pi.txid != txid:
        return False
    check_transition(pi.id, pi.status, Status.REQUIRES_ACTION, "reset")
    previous = {"status": pi.status}
    pi.status = Status.REQUIRES_ACTION
    pi.txid = None
    message = f"The payment transaction was not mined ({reason}); pay again."
    pi.last_payment_error = _error("card_error", "transaction_dropped", message, txid, charge_id)
    touch(pi)
    emit(session, pi, EVENT_FOR[Status.REQUIRES_ACTION], SYSTEM, previous)
    return True


def reversed_(
    session: AsyncSession, pi: PaymentIntent, *, txid: str, charge_id: str, reason: str
) -> bool:
    """Its payment was lost for good after a reorg (ADR 0011): the money did not move."""
    if pi.status != Status.SUCCEEDED or pi.txid != txid:
        return False
    check_transition(pi.id, pi.status, Status.REQUIRES_PAYMENT_METHOD, "reverse")
    previous = {"status": pi.status, "amount_received": pi.amount_received}
    pi.status = Status.REQUIRES_PAYMENT_METHOD
    pi.amount_received = 0
    pi.txid = None
    pi.block_height = pi.block_hash = None
    pi.succeeded_at = None
    message = (
        f"The payment {txid} was in a block the chain rolled back and it was not mined again "
        f"({reason}): the money did not move. Do not fulfil the order on this payment; the "
        "customer may pay again."
    )
    pi.last_payment_error = _error("card_error", "payment_reversed", message, txid, charge_id)
    touch(pi)
    emit(session, pi, PAYMENT_REVERSED, SYSTEM, previous)
    return True


def paid_late(
    session: AsyncSession,
    pi: PaymentIntent,
    *,
    charge_id: str,
    txid: str,
    amount: int,
    payer: str | None,
    refund_id: str,
) -> bool:
    """Money arrived for a canceled intent (ADR 0011): it stays canceled and says so."""
    if pi.status != Status.CANCELED or pi.late_payment is not None:
        return False
    previous = {"amount_received": pi.amount_received, "latest_charge": pi.latest_charge_id}
    pi.amount_received = amount
    pi.latest_charge_id = charge_id
    pi.txid = txid
    pi.late_payment = {
        "charge": charge_id,
        "amount": amount,
        "payer": payer,
        "txid": txid,
        "refund": refund_id,
    }
    touch(pi)
    emit(session, pi, PAID_LATE, SYSTEM, previous)
    return True


def late_payment_reversed(
    session: AsyncSession, pi: PaymentIntent, *, charge_id: str, reason: str
) -> bool:
    """A late payment was lost for good after a reorg: nothing is owed any more."""
    record = pi.late_payment
    if pi.status != Status.CANCELED or record is None or record.get("charge") != charge_id:
        return False
    previous = {"amount_received": pi.amount_received}
    pi.amount_received = 0
    pi.late_payment = {**record, "reversed": reason}
    touch(pi)
    emit(session, pi, PAYMENT_REVERSED, SYSTEM, previous)
    return True


def mismatch(session: AsyncSession, pi: PaymentIntent, *, txid: str, problem: str) -> None:
    """An on-chain payment names this intent but does not match it: recorded and reported
    (last_payment_error and a `payment_intent.payment_failed` event), never credited."""
    previous = {"last_payment_error": pi.last_payment_error}
    pi.last_payment_error = {
        "type": "invalid_request_error",
        "code": "payment_mismatch",
        "message": f"An on-chain payment does not match this PaymentIntent: {problem}",
        "sbtc": {"txid": txid},
    }
    touch(pi)
    emit(session, pi, PAYMENT_FAILED, SYSTEM, previous)


def refunded(pi: PaymentIntent, amount: int) -> None:
    """A refund of its payment succeeded (> 0) or was lost for good (< 0)."""
    pi.amount_refunded = max(0, pi.amount_refunded + amount)
    touch(pi)


def belongs_to(pi: PaymentIntent, contract_id: str) -> None:
    """Its money moved through this deployment: the one its refunds and held fee go through
    (already known for intents confirmed since revision 0007c)."""
    if pi.contract_id is None:
        pi.contract_id = contract_id
        touch(pi)


def fee(session: AsyncSession, pi: PaymentIntent, *, txid: str, status: str) -> None:
    """The fee reached the fee recipient (`distributed`: in the payment itself, or by the
    `distribute-fees` call for a held fee) or its call failed (`failed`)."""
    pi.fee_status = status
    pi.fee_txid = txid
    note_changed(session.sync_session, pi.id)


def _error(kind: str, code: str, message: str, txid: str, charge_id: str | None) -> dict[str, Any]:
    return {
        "type": kind,
        "code": code,
        "message": message,
        "charge": charge_id,
        "sbtc": {"txid": txid},
    }
