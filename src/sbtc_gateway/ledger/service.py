"""Recording movements of money, and reading them back. Takes a session, never commits.

Every function that moves money calls one of the `record_*` functions in the transaction that
changes the charge or refund, so the ledger can never disagree with the objects it explains.
Rows are only ever added (ADR 0010).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.ids import new_id
from sbtc_gateway.core.paging import check_limit
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.ledger import repository
from sbtc_gateway.ledger.models import BalanceTransaction
from sbtc_gateway.ledger.schemas import BalanceTransactionListParams

MERCHANT = "merchant"
PLATFORM = "platform"

# type → Stripe's reporting category
CATEGORIES: dict[str, str] = {
    "charge": "charge",
    "refund": "refund",
    "payment_reversal": "charge_failure",
    "refund_failure": "refund_failure",
    "adjustment": "other_adjustment",
    "application_fee": "platform_earning",
    "application_fee_refund": "platform_earning_refund",
    "payout": "payout",
    "payout_failure": "payout_reversal",
}
MERCHANT_TYPES = ("charge", "refund", "payment_reversal", "refund_failure", "adjustment")
# What the contract counts in a payee's totals: `processed` is their Σ amount (gross, fee
# included), `received` their Σ net (what reached the payee).
RECEIVED_TYPES = ("charge", "payment_reversal")


@dataclass(frozen=True, slots=True)
class Movement:
    """Who the money belongs to and where it went on chain."""

    merchant_id: str
    livemode: bool
    source_id: str
    network: str
    principal: str | None


async def _record(
    session: AsyncSession,
    movement: Movement,
    *,
    account: str,
    type_: str,
    amount: int,
    fee: int = 0,
    description: str,
) -> BalanceTransaction:
    now = int(time.time())
    fee_details: list[dict[str, Any]] = []
    if fee:
        fee_details.append(
            {
                "amount": fee,
                "application": None,
                "currency": "sbtc",
                "description": "sBTC gateway fee",
                "type": "application_fee",
            }
        )
    row = BalanceTransaction(
        id=new_id("txn"),
        merchant_id=movement.merchant_id,
        livemode=movement.livemode,
        account=account,
        type=type_,
        reporting_category=CATEGORIES[type_],
        amount=amount,
        fee=fee,
        net=amount - fee,
        fee_details=fee_details,
        currency="sbtc",
        source_id=movement.source_id,
        sequence=await repository.next_sequence(session, account, type_, movement.source_id),
        status="available",
        available_on=now,
        principal=movement.principal,
        network=movement.network,
        description=description,
        created=now,
    )
    session.add(row)
    return row


async def record_charge(
    session: AsyncSession,
    movement: Movement,
    *,
    amount: int,
    fee: int,
    fee_paid_out: bool,
    description: str,
) -> BalanceTransaction:
    """A charge succeeded: the merchant received `amount - fee`; the platform earned `fee`,
    which the payment itself paid to the fee recipient (`fee_paid_out`: an `application_fee`
    and its `payout` at once) or which the contract holds until `distribute-fees` (ADR 0100)."""
    row = await _record(
        session,
        movement,
        account=MERCHANT,
        type_="charge",
        amount=amount,
        fee=fee,
        description=description,
    )
    if fee:
        await _record(
            session,
            movement,
            account=PLATFORM,
            type_="application_fee",
            amount=fee,
            description=f"gateway fee of {movement.source_id}",
        )
        if fee_paid_out:
            await record_fee_payout(
                session,
                movement,
                fee=fee,
                description=f"fee of {movement.source_id} paid to the fee recipient in the payment",
            )
    return row


async def record_reversal(
    session: AsyncSession, movement: Movement, *, amount: int, fee: int, description: str
) -> BalanceTransaction:
    """A succeeded charge was lost for good (its block rolled back, never mined again). Its
    fee did not move either: what the ledger shows paid out of it (in the payment itself, or
    by a `distribute-fees` that cannot stand without the payment) is reversed too."""
    row = await _record(
        session,
        movement,
        account=MERCHANT,
        type_="payment_reversal",
        amount=-amount,
        fee=-fee,
        description=description,
    )
    if fee:
        await _record(
            session,
            movement,
            account=PLATFORM,
            type_="application_fee_refund",
            amount=-fee,
            description=f"gateway fee of {movement.source_id}, reversed",
        )
        paid_out = -await repository.platform_total(
            session, movement.source_id, ("payout", "payout_failure")
        )
        if paid_out:
            await _record(
                session,
                movement,
                account=PLATFORM,
                type_="payout_failure",
                amount=paid_out,
                description=f"fee pay-out of {movement.source_id}, reversed with its payment",
            )
    return row


async def record_refund(
    session: AsyncSession, movement: Movement, *, amount: int, description: str
) -> BalanceTransaction:
    return await _record(
        session, movement, account=MERCHANT, type_="refund", amount=-amount, description=description
    )


async def record_refund_failure(
    session: AsyncSession, movement: Movement, *, amount: int, description: str
) -> BalanceTransaction:
    return await _record(
        session,
        movement,
        account=MERCHANT,
        type_="refund_failure",
        amount=amount,
        description=description,
    )


async def record_fee_payout(
    session: AsyncSession, movement: Movement, *, fee: int, description: str
) -> BalanceTransaction:
    """The contract paid a charge's fee out to the gateway's fee recipient."""
    return await _record(
        session, movement, account=PLATFORM, type_="payout", amount=-fee, description=description
    )


async def retrieve(
    session: AsyncSession, caller: AuthenticatedKey, txn_id: str
) -> BalanceTransaction:
    row = await repository.get(session, caller.merchant_id, caller.livemode, txn_id)
    if row is None:
        raise codes.RESOURCE_MISSING(param="id", object="balance transaction", id=txn_id)
    return row


async def list_transactions(
    session: AsyncSession, caller: AuthenticatedKey, params: BalanceTransactionListParams
) -> tuple[list[BalanceTransaction], bool]:
    return await repository.list_page(
        session,
        caller.merchant_id,
        caller.livemode,
        type_=params.type,
        source_id=params.source,
        created=params.created,
        limit=check_limit(params.limit),
        starting_after=params.starting_after,
        ending_before=params.ending_before,
    )
