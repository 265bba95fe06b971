"""Charges: what each on-chain payment attempt did. Takes a session, never commits.

The watcher drives every change here (through `watcher/service.py`), in the transaction that
also moves the intent; each change records its event and, when money moved, its ledger row.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.charges import repository
from sbtc_gateway.charges.models import Charge
from sbtc_gateway.charges.schemas import (
    ChargeListParams,
    ChargeSearchParams,
    render_charge,
)
from sbtc_gateway.charges.search import to_condition
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.errors import GatewayError
from sbtc_gateway.core.ids import new_id
from sbtc_gateway.core.origin import SYSTEM
from sbtc_gateway.core.paging import check_limit, decode_page, encode_page
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.events import service as events
from sbtc_gateway.ledger import service as ledger
from sbtc_gateway.payments.models import PaymentIntent


def movement(charge: Charge) -> ledger.Movement:
    return ledger.Movement(
        merchant_id=charge.merchant_id,
        livemode=charge.livemode,
        source_id=charge.id,
        network=charge.network,
        principal=charge.recipient,
    )


def _emit(
    session: AsyncSession,
    charge: Charge,
    type_: str,
    previous: dict[str, Any] | None = None,
    *,
    tip: int | None = None,
) -> None:
    events.record(
        session,
        merchant_id=charge.merchant_id,
        livemode=charge.livemode,
        type=type_,
        obj=render_charge(charge, tip=tip),
        origin=SYSTEM,
        previous_attributes=previous,
    )


def _touch(charge: Charge) -> None:
    charge.updated = int(time.time())


async def observed(
    session: AsyncSession,
    pi: PaymentIntent,
    *,
    network: str,
    txid: str,
    payer: str | None,
    amount: int | None = None,
) -> tuple[Charge, bool]:
    """The charge of a payment transaction naming `pi`; created (`pending`) on first sight."""
    existing = await repository.by_txid(session, network, txid)
    if existing is not None:
        if existing.payer is None and payer is not None:
            existing.payer = payer
        return existing, False
    now = int(time.time())
    charge = Charge(
        id=new_id("ch"),
        merchant_id=pi.merchant_id,
        livemode=pi.livemode,
        payment_intent_id=pi.id,
        amount=pi.amount if amount is None else amount,
        application_fee_amount=pi.application_fee_amount,
        amount_captured=0,
        amount_refunded=0,
        currency=pi.currency,
        status="pending",
        network=network,
        txid=txid,
        payer=payer,
        recipient=pi.payout_address,
        description=pi.description,
        metadata_=dict(pi.metadata_ or {}),
        late=False,
        created=now,
        updated=now,
    )
    session.add(charge)
    await session.flush()
    _emit(session, charge, "charge.pending")
    return charge, True


async def succeed(
    session: AsyncSession,
    charge: Charge,
    *,
    amount: int,
    fee: int,
    payer: str | None,
    block_height: int,
    block_hash: str,
    late: bool = False,
    tip: int | None = None,
    fee_held: bool = True,
) -> bool:
    """The payment is in a canonical block, deep enough: money moved. Never twice.
    `fee_held`: the contract kept the fee (else the payment paid it to the fee recipient)."""
    if charge.status == "succeeded":
        return False
    previous = {"status": charge.status}
    charge.status = "succeeded"
    charge.amount = amount
    charge.amount_captured = amount
    charge.application_fee_amount = fee
    charge.payer = payer or charge.payer
    charge.block_height, charge.block_hash = block_height, block_hash
    charge.reorged_at = None
    charge.late = late
    charge.failure_code = charge.failure_message = None
    row = await ledger.record_charge(
        session,
        movement(charge),
        amount=amount,
        fee=fee,
        fee_paid_out=not fee_held,
        description=f"payment {charge.payment_intent_id} ({charge.txid})",
    )
    charge.balance_transaction_id = row.id
    _touch(charge)
    _emit(session, charge, "charge.succeeded", previous, tip=tip)
    return True


def fail(session: AsyncSession, charge: Charge, *, failure_code: str, message: str) -> bool:
    """An attempt that moved no money: aborted on chain, or dropped before it was mined."""
    if charge.status != "pending":
        return False
    previous = {"status": charge.status}
    charge.status = "failed"
    charge.failure_code, charge.failure_message = failure_code, message
    _touch(charge)
    _emit(session, charge, "charge.failed", previous)
    return True


def mark_reorged(session: AsyncSession, charge: Charge, *, tip: int) -> bool:
    """The block holding this succeeded charge was rolled back; it waits to be mined again."""
    if charge.status != "succeeded" or charge.reorged_at is not None:
        return False
    previous = {"block_height": charge.block_height, "block_hash": charge.block_hash}
    charge.reorged_at = tip
    _touch(charge)
    _emit(session, charge, "charge.updated", {"payment_method_details": {"sbtc": previous}})
    return True


def reincluded(
    session: AsyncSession, charge: Charge, *, block_height: int, block_hash: str, tip: int
) -> bool:
    """The same transaction was mined again in a canonical block: nothing changes but where."""
    if charge.reorged_at is None and charge.block_hash == block_hash:
        return False
    previous = {"reorged_at": charge.reorged_at, "block_hash": charge.block_hash}
    charge.block_height, charge.block_hash = block_height, block_hash
    charge.reorged_at = None
    _touch(charge)
    _emit(
        session, charge, "charge.updated", {"payment_method_details": {"sbtc": previous}}, tip=tip
    )
    return True


async def reverse(session: AsyncSession, charge: Charge, *, reason: str) -> bool:
    """A succeeded charge was lost for good: the money did not move after all (ADR 0011)."""
    if charge.status != "succeeded":
        return False
    previous = {"status": charge.status, "paid": True}
    row = await ledger.record_reversal(
        session,
        movement(charge),
        amount=charge.amount_captured,
        fee=charge.application_fee_amount,
        description=f"payment {charge.payment_intent_id} reversed: {reason}",
    )
    charge.status = "failed"
    charge.failure_code = "payment_reversed"
    charge.failure_message = reason
    charge.failure_balance_transaction_id = row.id
    charge.reorged_at = None
    _touch(charge)
    _emit(session, charge, "charge.reversed", previous)
    return True


def refund_moved(session: AsyncSession, charge: Charge, amount: int) -> None:
    """A refund of this charge succeeded (`amount` > 0) or was lost for good (< 0)."""
    previous = {"amount_refunded": charge.amount_refunded}
    charge.amount_refunded = max(0, charge.amount_refunded + amount)
    _touch(charge)
    _emit(session, charge, "charge.refunded" if amount > 0 else "charge.updated", previous)


# --- the API --------------------------------------------------------------------------------


def not_found(charge_id: str, param: str = "id") -> GatewayError:
    return codes.RESOURCE_MISSING(param=param, object="charge", id=charge_id)


async def retrieve(session: AsyncSession, caller: AuthenticatedKey, charge_id: str) -> Charge:
    charge = await repository.get(session, caller.merchant_id, caller.livemode, charge_id)
    if charge is None:
        raise not_found(charge_id)
    return charge


async def list_charges(
    session: AsyncSession, caller: AuthenticatedKey, params: ChargeListParams
) -> tuple[list[Charge], bool]:
    if params.customer is not None:
        raise codes.CUSTOMERS_UNSUPPORTED(param="customer")
    return await repository.list_page(
        session,
        caller.merchant_id,
        caller.livemode,
        payment_intent=params.payment_intent,
        created=params.created,
        limit=check_limit(params.limit),
        starting_after=params.starting_after,
        ending_before=params.ending_before,
    )


async def search_charges(
    session: AsyncSession, caller: AuthenticatedKey, params: ChargeSearchParams
) -> tuple[list[Charge], bool, str | None]:
    condition = to_condition(params.query)
    after_id = decode_page(params.page, "ch_") if params.page else None
    limit = check_limit(params.limit)
    items, has_more = await repository.search_page(
        session, caller.merchant_id, caller.livemode, condition, limit=limit, after_id=after_id
    )
    next_page = encode_page(items[-1].id) if has_more and items else None
    return items, has_more, next_page
