"""Refund logic. Takes a session, never commits; records events with every change.

Non-custodial: the gateway never holds the merchant's sBTC, so a refund is created with the
`refund-payment` contract call the merchant's wallet signs (`next_action.sbtc_contract_call`,
the same shape as a payment's: deny mode, the merchant sends exactly `amount` to the payer).
The watcher completes it when the call lands, and writes the ledger row then. A refund whose
block is rolled back is `pending` until it is mined again, or `failed` if it never is (ADR 0011).

Locks are taken in one order everywhere: the intent, then its charge, then the refund.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.charges import repository as charges_repository
from sbtc_gateway.charges import service as charges
from sbtc_gateway.charges.models import Charge
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.errors import GatewayError
from sbtc_gateway.core.ids import new_id
from sbtc_gateway.core.origin import SYSTEM, Origin
from sbtc_gateway.core.paging import check_limit
from sbtc_gateway.core.params import merge_metadata
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.events import service as events
from sbtc_gateway.ledger import service as ledger
from sbtc_gateway.payments import lifecycle, onchain
from sbtc_gateway.payments import repository as intents
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.payments.service import PaymentSettings
from sbtc_gateway.refunds import repository
from sbtc_gateway.refunds.models import Refund
from sbtc_gateway.refunds.schemas import RefundCreateParams, RefundListParams, render_refund

LATE_PAYMENT_REASON = "paid_late"


def _not_refundable(message: str, param: str) -> GatewayError:
    return codes.CHARGE_NOT_REFUNDABLE(param=param, message=message)


async def _refundable(
    session: AsyncSession, caller: AuthenticatedKey, params: RefundCreateParams
) -> tuple[PaymentIntent, Charge, str]:
    """The intent and its succeeded charge a refund is for, both locked (in that order), and
    the parameter that named them."""
    if params.payment_intent is None and params.charge is None:
        raise codes.PARAMETER_MISSING(
            param="payment_intent", message="Missing required param: payment_intent (or charge)."
        )
    param = "payment_intent" if params.payment_intent is not None else "charge"
    intent_id = params.payment_intent
    if intent_id is None:
        assert params.charge is not None
        named = await charges_repository.get(
            session, caller.merchant_id, caller.livemode, params.charge
        )
        if named is None:
            raise charges.not_found(params.charge, "charge")
        intent_id = named.payment_intent_id
    pi = await intents.get(session, caller.merchant_id, caller.livemode, intent_id, lock=True)
    if pi is None:
        raise codes.RESOURCE_MISSING(param="payment_intent", object="payment_intent", id=intent_id)
    charge = await charges_repository.succeeded_for_intent(session, pi.id)
    if charge is None or (params.charge is not None and charge.id != params.charge):
        raise _not_refundable(
            f"This PaymentIntent cannot be refunded because it has a status of {pi.status}."
            if param == "payment_intent"
            else "This charge cannot be refunded: it did not succeed.",
            param,
        )
    if charge.reorged_at is not None:
        raise codes.CHARGE_IN_REORG(param=param)
    return pi, charge, param


def refund_call(
    cfg: PaymentSettings, pi: PaymentIntent, charge: Charge, amount: int
) -> dict[str, Any]:
    """The merchant wallet's call, on the deployment the payment went through."""
    contract = cfg.contract_of(pi.livemode, pi.contract_id)
    assert contract is not None
    livemode = pi.livemode
    return onchain.refund_call(
        network=onchain.network_for(cfg.network(livemode)),
        contract_id=contract,
        intent_id=charge.payment_intent_id,
        merchant=charge.recipient,
        payer=charge.payer,
        amount=amount,
    )


def _new_refund(
    charge: Charge, amount: int, reason: str | None, metadata: dict[str, str], call: dict[str, Any]
) -> Refund:
    return Refund(
        id=new_id("re"),
        merchant_id=charge.merchant_id,
        livemode=charge.livemode,
        payment_intent_id=charge.payment_intent_id,
        charge_id=charge.id,
        amount=amount,
        currency="sbtc",
        status="requires_action",
        reason=reason,
        metadata_=metadata,
        destination=charge.payer,
        next_action={"type": "sbtc_contract_call", "sbtc_contract_call": call},
    )


async def create(
    session: AsyncSession,
    cfg: PaymentSettings,
    caller: AuthenticatedKey,
    params: RefundCreateParams,
    origin: Origin,
) -> Refund:
    pi, charge, param = await _refundable(session, caller, params)
    remaining = charge.amount_captured - await repository.committed_total(session, charge.id)
    amount = remaining if params.amount is None else params.amount
    if remaining <= 0:
        raise codes.CHARGE_ALREADY_REFUNDED(param=param)
    if amount <= 0 or amount > remaining:
        raise (codes.AMOUNT_TOO_LARGE if amount > 0 else codes.PARAMETER_INVALID)(
            param="amount",
            message=f"Refund amount ({amount}) is greater than unrefunded amount on the payment "
            f"({remaining}).",
        )
    call = refund_call(cfg, pi, charge, amount)
    refund = _new_refund(charge, amount, params.reason, merge_metadata({}, params.metadata), call)
    session.add(refund)
    _emit(session, refund, "refund.created", origin)
    await session.flush()
    return refund


async def retrieve(session: AsyncSession, caller: AuthenticatedKey, refund_id: str) -> Refund:
    refund = await repository.get(session, caller.merchant_id, caller.livemode, refund_id)
    if refund is None:
        raise codes.RESOURCE_MISSING(param="id", object="refund", id=refund_id)
    return refund


async def list_refunds(
    session: AsyncSession, caller: AuthenticatedKey, params: RefundListParams
) -> tuple[list[Refund], bool]:
    return await repository.list_page(
        session,
        caller.merchant_id,
        caller.livemode,
        payment_intent=params.payment_intent,
        charge=params.charge,
        limit=check_limit(params.limit),
        starting_after=params.starting_after,
        ending_before=params.ending_before,
    )


# --- the watcher (the intent is locked by the caller) ------------------------------------------


def _movement(refund: Refund, charge: Charge) -> ledger.Movement:
    return ledger.Movement(
        merchant_id=refund.merchant_id,
        livemode=refund.livemode,
        source_id=refund.id,
        network=charge.network,
        principal=charge.recipient,
    )


async def owe_for_late_payment(
    session: AsyncSession, charge: Charge, *, network_name: str, contract_id: str
) -> Refund:
    """Money arrived for a canceled intent: the refund the merchant owes the payer, in full,
    ready for the merchant's wallet (ADR 0011)."""
    call = onchain.refund_call(
        network=onchain.network_for(network_name),
        contract_id=contract_id,
        intent_id=charge.payment_intent_id,
        merchant=charge.recipient,
        payer=charge.payer,
        amount=charge.amount_captured,
    )
    refund = _new_refund(charge, charge.amount_captured, LATE_PAYMENT_REASON, {}, call)
    session.add(refund)
    _emit(session, refund, "refund.created", SYSTEM)
    await session.flush()
    return refund


async def cancel_owed(session: AsyncSession, refund_id: str, reason: str) -> bool:
    """A refund owed for a late payment that turned out not to have happened (reversed after a
    reorg): canceled, if the merchant has not paid it yet."""
    refund = await repository.lock(session, refund_id)
    if refund is None or refund.status not in repository.UNPAID:
        return False
    previous = {"status": refund.status}
    refund.status = "canceled"
    refund.next_action = None
    refund.failure_reason = reason
    _changed(session, refund, previous)
    return True


async def chain_refunded(
    session: AsyncSession, pi: PaymentIntent, amount: int, txid: str
) -> Refund | None:
    """A `refund` print event landed: the matching refund succeeds (None if there is none)."""
    refund = await repository.awaiting_chain(session, pi.id, amount, txid)
    if refund is None or refund.charge_id is None:
        return refund
    charge = await charges_repository.lock_by_id(session, refund.charge_id)
    refund = await repository.lock(session, refund.id)
    if charge is None or refund is None:
        return refund
    if refund.status == "pending" and refund.txid == txid and refund.balance_transaction_id:
        # mined again after a reorg: the ledger row written the first time stands
        refund.status, refund.reorged_at = "succeeded", None
        _changed(session, refund, {"status": "pending"})
        return refund
    if refund.status not in repository.UNPAID:
        return refund
    previous = {"status": refund.status}
    row = await ledger.record_refund(
        session, _movement(refund, charge), amount=refund.amount, description=f"refund ({txid})"
    )
    refund.status = "succeeded"
    refund.txid = txid
    refund.next_action = None
    refund.balance_transaction_id = row.id
    charges.refund_moved(session, charge, refund.amount)
    lifecycle.refunded(pi, refund.amount)
    _changed(session, refund, previous)
    return refund


async def chain_refund_failed(
    session: AsyncSession, pi: PaymentIntent, amount: int, txid: str, reason: str
) -> Refund | None:
    """The refund call aborted on chain: nothing moved."""
    refund = await repository.awaiting_chain(session, pi.id, amount, txid)
    if refund is None or refund.status not in repository.UNPAID:
        return refund
    previous = {"status": refund.status}
    refund.status = "failed"
    refund.txid = txid
    refund.failure_reason = reason
    _changed(session, refund, previous, "refund.failed")
    return refund


async def chain_refund_orphaned(session: AsyncSession, refund_id: str, *, tip: int) -> None:
    """The block with the refund was rolled back: pending until it is mined again."""
    refund = await repository.lock(session, refund_id)
    if refund is None or refund.status != "succeeded":
        return
    refund.status = "pending"
    refund.reorged_at = tip
    _changed(session, refund, {"status": "succeeded"})


async def chain_refund_lost(
    session: AsyncSession, pi: PaymentIntent, refund_id: str, reason: str
) -> bool:
    """A rolled-back refund was not mined again: it failed, and the ledger says so."""
    refund = await repository.lock(session, refund_id)
    if refund is None or refund.status != "pending" or refund.charge_id is None:
        return False
    charge = await charges_repository.lock_by_id(session, refund.charge_id)
    if charge is None:
        return False
    row = await ledger.record_refund_failure(
        session, _movement(refund, charge), amount=refund.amount, description=reason
    )
    refund.status = "failed"
    refund.reorged_at = None
    refund.failure_reason = "refund_reversed"
    refund.failure_balance_transaction_id = row.id
    charges.refund_moved(session, charge, -refund.amount)
    lifecycle.refunded(pi, -refund.amount)
    _changed(session, refund, {"status": "pending"}, "refund.failed")
    return True


def _changed(
    session: AsyncSession, refund: Refund, previous: dict[str, Any], type_: str = "refund.updated"
) -> None:
    refund.updated = int(time.time())
    _emit(session, refund, type_, SYSTEM, previous)


def _emit(
    session: AsyncSession,
    refund: Refund,
    type_: str,
    origin: Origin,
    previous: dict[str, Any] | None = None,
) -> None:
    events.record(
        session,
        merchant_id=refund.merchant_id,
        livemode=refund.livemode,
        type=type_,
        obj=render_refund(refund),
        origin=origin,
        previous_attributes=previous,
    )
