"""Refund logic. Takes a session, never commits; records events with every change.

Non-custodial: the gateway never holds the merchant's sBTC, so a refund is created with the
`refund-payment` contract call the merchant's wallet signs (`next_action.sbtc_contract_call`,
deny mode: the merchant sends exactly `amount`). The watcher completes it when the call lands.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.chain import StringAscii, UInt, ft_post_condition, principal
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.ids import new_id
from sbtc_gateway.core.origin import SYSTEM, Origin
from sbtc_gateway.core.paging import check_limit
from sbtc_gateway.core.params import merge_metadata
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.events import service as events
from sbtc_gateway.payments import onchain
from sbtc_gateway.payments import repository as intents
from sbtc_gateway.payments.service import PaymentSettings
from sbtc_gateway.payments.state import Status
from sbtc_gateway.refunds import repository
from sbtc_gateway.refunds.models import Refund
from sbtc_gateway.refunds.schemas import RefundCreateParams, RefundListParams, render_refund

REFUND_FUNCTION = "refund-payment"


def refund_call(
    cfg: PaymentSettings, livemode: bool, intent_id: str, merchant: str, amount: int
) -> dict[str, Any]:
    network = onchain.network_for(cfg.network(livemode))
    contract = cfg.contract(livemode)
    assert contract is not None
    args = [
        ("token", principal(network.sbtc_token)),
        ("payment-id", StringAscii(intent_id)),
        ("amount", UInt(amount)),
    ]
    pc = ft_post_condition(merchant, "eq", amount, network.sbtc_asset_id)
    return {
        "network": network.name,
        "contract_id": contract,
        "function_name": REFUND_FUNCTION,
        "function_args": [value.to_hex() for _, value in args],
        "function_args_repr": [f"{name}: {value!r}" for name, value in args],
        "post_conditions": [pc.to_hex()],
        "post_condition_mode": "deny",
        "sender": merchant,
    }


async def create(
    session: AsyncSession,
    cfg: PaymentSettings,
    caller: AuthenticatedKey,
    params: RefundCreateParams,
    origin: Origin,
) -> Refund:
    pi = await intents.get(
        session, caller.merchant_id, caller.livemode, params.payment_intent, lock=True
    )
    if pi is None:
        raise codes.RESOURCE_MISSING(
            param="payment_intent", object="payment_intent", id=params.payment_intent
        )
    if pi.status != Status.SUCCEEDED:
        raise codes.CHARGE_NOT_REFUNDABLE(param="payment_intent", status=pi.status)
    remaining = pi.amount_received - await repository.committed_total(session, pi.id)
    amount = remaining if params.amount is None else params.amount
    if remaining <= 0:
        raise codes.CHARGE_ALREADY_REFUNDED(param="payment_intent")
    if amount <= 0 or amount > remaining:
        raise (codes.AMOUNT_TOO_LARGE if amount > 0 else codes.PARAMETER_INVALID)(
            param="amount",
            message=f"Refund amount ({amount}) is greater than unrefunded amount on the payment "
            f"({remaining}).",
        )
    refund = Refund(
        id=new_id("re"),
        merchant_id=caller.merchant_id,
        livemode=caller.livemode,
        payment_intent_id=pi.id,
        amount=amount,
        currency="sbtc",
        status="requires_action",
        reason=params.reason,
        metadata_=merge_metadata({}, params.metadata),
        next_action={
            "type": "sbtc_contract_call",
            "sbtc_contract_call": refund_call(
                cfg, caller.livemode, pi.id, pi.payout_address, amount
            ),
        },
    )
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
        limit=check_limit(params.limit),
        starting_after=params.starting_after,
        ending_before=params.ending_before,
    )


# --- the watcher ------------------------------------------------------------------------------


async def chain_refunded(
    session: AsyncSession, intent_id: str, amount: int, txid: str
) -> Refund | None:
    """A `refund` print event landed: the matching refund succeeds (None if there is none)."""
    refund = await repository.awaiting_chain(session, intent_id, amount, txid)
    if refund is None or (refund.status == "succeeded" and refund.txid == txid):
        return refund
    if refund.status not in ("requires_action", "pending"):
        return refund
    previous = {"status": refund.status}
    refund.status = "succeeded"
    refund.txid = txid
    refund.next_action = None
    refund.updated = int(time.time())
    _emit(session, refund, "refund.updated", SYSTEM, previous)
    return refund


async def chain_refund_failed(
    session: AsyncSession, intent_id: str, amount: int, txid: str, reason: str
) -> Refund | None:
    refund = await repository.awaiting_chain(session, intent_id, amount, txid)
    if refund is None or refund.status not in ("requires_action", "pending"):
        return refund
    previous = {"status": refund.status}
    refund.status = "failed"
    refund.txid = txid
    refund.failure_reason = reason
    refund.updated = int(time.time())
    _emit(session, refund, "refund.updated", SYSTEM, previous)
    return refund


async def chain_refund_orphaned(session: AsyncSession, refund_id: str) -> None:
    """The block with the refund was rolled back: pending until it is mined again."""
    refund = await session.get(Refund, refund_id, with_for_update=True)
    if refund is None or refund.status != "succeeded":
        return
    refund.status = "pending"
    refund.updated = int(time.time())
    _emit(session, refund, "refund.updated", SYSTEM, {"status": "succeeded"})


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
