"""PaymentIntent business logic. Takes a session, never commits; writes events with changes."""

from __future__ import annotations

import base64
import hmac
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import object_session

from sbtc_gateway.chain import PrivateKey
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.errors import GatewayError
from sbtc_gateway.core.ids import new_id, token
from sbtc_gateway.core.money import fee_for
from sbtc_gateway.core.origin import SYSTEM, Origin
from sbtc_gateway.core.paging import check_limit
from sbtc_gateway.core.params import merge_metadata
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.events import service as events
from sbtc_gateway.merchants.service import MerchantTerms, validate_payout_address
from sbtc_gateway.merchants.tiers import FEE_BASIS_POINTS, Tier
from sbtc_gateway.payments import onchain, repository, search
from sbtc_gateway.payments.cache import note_changed
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.payments.onchain import ChainTips
from sbtc_gateway.payments.schemas import (
    ListParams,
    PaymentIntentCancelParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    PaymentIntentUpdateParams,
    PaymentMethodData,
    SearchParams,
    render_payment_intent,
)
from sbtc_gateway.payments.state import (
    AMOUNT_EDITABLE,
    CANCELABLE,
    CONFIRMABLE,
    EVENT_FOR,
    PAYMENT_FAILED,
    Status,
    check_transition,
)


@dataclass(frozen=True, slots=True)
class PaymentSettings:
    min_amount: int
    max_amount: int
    default_expiry_seconds: int
    test_network: str
    test_contract: str
    live_contract: str | None
    checkout_base_url: str
    # The gateway's terms-signing key and where the current Stacks tip height comes from.
    signing_key: PrivateKey | None = None
    tips: ChainTips | None = None
    block_time_seconds: float = 5.0

    def network(self, livemode: bool) -> str:
        return "mainnet" if livemode else self.test_network

    def contract(self, livemode: bool) -> str | None:
        return self.live_contract if livemode else self.test_contract


def _not_found(intent_id: str) -> GatewayError:
    return codes.RESOURCE_MISSING(param="intent", object="payment_intent", id=intent_id)


def _check_amount(cfg: PaymentSettings, amount: int) -> None:
    if amount < cfg.min_amount:
        raise codes.AMOUNT_TOO_SMALL(param="amount", minimum=cfg.min_amount)
    if amount > cfg.max_amount:
        raise codes.AMOUNT_TOO_LARGE(param="amount", maximum=cfg.max_amount)


def _check_method_types(types: list[str]) -> None:
    for i, kind in enumerate(types):
        if kind != "sbtc":
            raise codes.PARAMETER_INVALID(
                param=f"payment_method_types[{i}]",
                message=f"The payment method type {kind!r} is not supported; use 'sbtc'.",
            )


def _payer(data: PaymentMethodData | None, livemode: bool) -> str | None:
    if data is None or data.sbtc is None or data.sbtc.payer is None:
        return None
    return validate_payout_address(
        data.sbtc.payer, mainnet=livemode, param="payment_method_data[sbtc][payer]"
    )


async def create(
    session: AsyncSession,
    cfg: PaymentSettings,
    caller: AuthenticatedKey,
    merchant: MerchantTerms,
    params: PaymentIntentCreateParams,
    origin: Origin,
) -> PaymentIntent:
    _check_amount(cfg, params.amount)
    _check_method_types(params.payment_method_types)
    payout = merchant.live_stacks_address if caller.livemode else merchant.stacks_address
    if payout is None:
        raise codes.LIVE_PAYOUT_ADDRESS_MISSING()
    bps = FEE_BASIS_POINTS[Tier(merchant.tier)]
    now = int(time.time())
    intent_id = new_id("pi")
    payer = _payer(params.payment_method_data, caller.livemode)
    pi = PaymentIntent(
        id=intent_id,
        merchant_id=caller.merchant_id,
        livemode=caller.livemode,
        amount=params.amount,
        amount_received=0,
        application_fee_amount=fee_for(params.amount, bps),
        fee_basis_points=bps,
        currency="sbtc",
        status=Status.REQUIRES_CONFIRMATION if payer else Status.REQUIRES_PAYMENT_METHOD,
        description=params.description,
        metadata_=merge_metadata({}, params.metadata),
        receipt_email=params.receipt_email,
        client_secret=f"{intent_id}_secret_{token(18)}",
        payer=payer,
        payout_address=payout,
        return_url=params.return_url,
        expires_at=now + (merchant.payment_expiry_seconds or cfg.default_expiry_seconds),
        created=now,
        updated=now,
        version=1,
    )
    session.add(pi)
    _emit(session, pi, "payment_intent.created", origin)
    if params.confirm:
        await _confirm(cfg, pi, PaymentIntentConfirmParams(), origin, session)
    await session.flush()
    return pi


async def retrieve(
    session: AsyncSession, caller: AuthenticatedKey, intent_id: str, client_secret: str | None
) -> PaymentIntent:
    pi = await repository.get(session, caller.merchant_id, caller.livemode, intent_id)
    if pi is None:
        raise _not_found(intent_id)
    if caller.kind == "publishable":
        _check_client_secret(pi, client_secret)
    return pi


def _check_client_secret(pi: PaymentIntent, client_secret: str | None) -> None:
    check_client_secret(pi.id, pi.client_secret, client_secret)


def check_client_secret(intent_id: str, stored: str, client_secret: str | None) -> None:

    if client_secret is None:
        raise codes.PARAMETER_MISSING(
            param="client_secret",
            message="A publishable key must send the PaymentIntent's client_secret.",
        )
    if not hmac.compare_digest(client_secret.encode(), stored.encode()):
        raise codes.RESOURCE_MISSING(param="client_secret", object="payment_intent", id=intent_id)


async def _locked(session: AsyncSession, caller: AuthenticatedKey, intent_id: str) -> PaymentIntent:
    pi = await repository.get(session, caller.merchant_id, caller.livemode, intent_id, lock=True)
    if pi is None:
        raise _not_found(intent_id)
    return pi


async def update(
    session: AsyncSession,
    cfg: PaymentSettings,
    caller: AuthenticatedKey,
    intent_id: str,
    params: PaymentIntentUpdateParams,
) -> PaymentIntent:
    pi = await _locked(session, caller, intent_id)
    fields = params.model_fields_set - {"expand"}
    if pi.status in (Status.CANCELED, Status.SUCCEEDED, Status.PROCESSING) and fields:
        raise codes.PAYMENT_INTENT_UNEXPECTED_STATE(
            action="update",
            status=pi.status,
            extra={"payment_intent": {"id": pi.id, "status": pi.status}},
        )
    if "amount" in fields:
        if params.amount is None:
            raise codes.PARAMETER_INVALID(param="amount", message="amount cannot be unset.")
        if pi.status not in AMOUNT_EDITABLE and params.amount != pi.amount:
            raise codes.PAYMENT_INTENT_UNEXPECTED_STATE(
                param="amount",
                message="The amount cannot change once the PaymentIntent has been confirmed; "
                "cancel it and create a new one.",
                extra={"payment_intent": {"id": pi.id, "status": pi.status}},
            )
        _check_amount(cfg, params.amount)
        pi.amount = params.amount
        pi.application_fee_amount = fee_for(params.amount, pi.fee_basis_points)
    if "description" in fields:
        pi.description = params.description
    if "metadata" in fields:
        pi.metadata_ = merge_metadata(pi.metadata_ or {}, params.metadata)
    if "receipt_email" in fields:
        pi.receipt_email = params.receipt_email
    if "payment_method_types" in fields:
        _check_method_types(params.payment_method_types)
    if "payment_method_data" in fields:
        if pi.status not in AMOUNT_EDITABLE:
            raise codes.PAYMENT_INTENT_UNEXPECTED_STATE(
                param="payment_method_data",
                message="The payer cannot change once the PaymentIntent has been confirmed.",
            )
        pi.payer = _payer(params.payment_method_data, caller.livemode)
        pi.status = Status.REQUIRES_CONFIRMATION if pi.payer else Status.REQUIRES_PAYMENT_METHOD
    _touch(pi)
    await session.flush()
    return pi


async def confirm(
    session: AsyncSession,
    cfg: PaymentSettings,
    caller: AuthenticatedKey,
    intent_id: str,
    params: PaymentIntentConfirmParams,
    origin: Origin,
) -> PaymentIntent:
    pi = await _locked(session, caller, intent_id)
    if caller.kind == "publishable":
        _check_client_secret(pi, params.client_secret)
    elif params.client_secret is not None and params.client_secret != pi.client_secret:
        raise codes.PARAMETER_INVALID(
            param="client_secret", message="The client_secret does not match."
        )
    _check_method_types(params.payment_method_types)
    if pi.status not in CONFIRMABLE:
        check_transition(pi.id, pi.status, Status.REQUIRES_ACTION, "confirm")
    if pi.expires_at <= int(time.time()):
        raise codes.PAYMENT_INTENT_EXPIRED(
            extra={"payment_intent": {"id": pi.id, "status": pi.status}}
        )
    payer = pi.payer
    if params.payment_method_data is not None:
        payer = _payer(params.payment_method_data, caller.livemode)
    if pi.status == Status.REQUIRES_ACTION and payer == pi.payer:
        # Confirming again with the same terms changes nothing: the wallet call stands.
        return pi
    pi.payer = payer
    if params.receipt_email is not None:
        pi.receipt_email = params.receipt_email
    if params.return_url is not None:
        pi.return_url = params.return_url
    await _confirm(cfg, pi, params, origin, session)
    await session.flush()
    return pi


async def _confirm(
    cfg: PaymentSettings,
    pi: PaymentIntent,
    params: PaymentIntentConfirmParams,
    origin: Origin,
    session: AsyncSession,
) -> None:
    check_transition(pi.id, pi.status, Status.REQUIRES_ACTION, "confirm")
    contract = cfg.contract(pi.livemode)
    if contract is None:
        raise codes.LIVEMODE_NOT_CONFIGURED()
    network = cfg.network(pi.livemode)
    if cfg.signing_key is None or cfg.tips is None:
        raise codes.PAYMENTS_NOT_CONFIGURED()
    net = onchain.network_for(network)
    tip = await cfg.tips.height(network)
    remaining = pi.expires_at - int(time.time())
    expires_at_block = tip + onchain.blocks_for(remaining, cfg.block_time_seconds)
    call = onchain.contract_call(
        network=net,
        contract_id=contract,
        key=cfg.signing_key,
        intent_id=pi.id,
        merchant=pi.payout_address,
        payer=pi.payer,
        amount=pi.amount,
        fee=pi.application_fee_amount,
        expires_at_block=expires_at_block,
    )
    previous = {"status": pi.status, "next_action": pi.next_action}
    pi.status = Status.REQUIRES_ACTION
    pi.last_payment_error = None
    pi.expires_at_block = expires_at_block
    pi.next_action = {
        "type": "sbtc_contract_call",
        "sbtc_contract_call": call,
        "redirect_to_url": {
            "url": f"{cfg.checkout_base_url}/checkout/{pi.id}",
            "return_url": pi.return_url,
        },
    }
    _touch(pi)
    _emit(session, pi, EVENT_FOR[Status.REQUIRES_ACTION], origin, previous)


async def cancel(
    session: AsyncSession,
    caller: AuthenticatedKey,
    intent_id: str,
    params: PaymentIntentCancelParams,
    origin: Origin,
) -> PaymentIntent:
    pi = await _locked(session, caller, intent_id)
    if pi.status not in CANCELABLE:
        check_transition(pi.id, pi.status, Status.CANCELED, "cancel")
        raise codes.PAYMENT_INTENT_UNEXPECTED_STATE(
            action="cancel",
            status=pi.status,
            extra={"payment_intent": {"id": pi.id, "status": pi.status}},
        )
    _cancel(session, pi, params.cancellation_reason, origin)
    await session.flush()
    return pi


def _cancel(session: AsyncSession, pi: PaymentIntent, reason: str | None, origin: Origin) -> None:
    check_transition(pi.id, pi.status, Status.CANCELED, "cancel")
    previous = {"status": pi.status, "next_action": pi.next_action}
    pi.status = Status.CANCELED
    pi.cancellation_reason = reason
    pi.canceled_at = int(time.time())
    pi.next_action = None
    _touch(pi)
    _emit(session, pi, EVENT_FOR[Status.CANCELED], origin, previous)


async def expire_due(session: AsyncSession, *, batch: int = 200) -> int:
    """Cancel unpaid intents past `expires_at` with reason `expired`. Returns how many."""
    now = int(time.time())
    count = 0
    for intent_id in await repository.expired_ids(session, now, batch):
        pi = await repository.lock_by_id(session, intent_id)
        # Re-check under the lock: a payment may have arrived since the scan.
        if pi is None or pi.status not in CANCELABLE or pi.expires_at > now:
            continue
        _cancel(session, pi, "expired", SYSTEM)
        count += 1
    await session.flush()
    return count


async def list_intents(
    session: AsyncSession, caller: AuthenticatedKey, params: ListParams
) -> tuple[list[PaymentIntent], bool]:
    if params.customer is not None:
        raise codes.PARAMETER_INVALID(
            param="customer", message="Customers are not supported by this gateway."
        )
    return await repository.list_page(
        session,
        caller.merchant_id,
        caller.livemode,
        limit=check_limit(params.limit),
        starting_after=params.starting_after,
        ending_before=params.ending_before,
        created=params.created,
    )


async def search_intents(
    session: AsyncSession, caller: AuthenticatedKey, params: SearchParams
) -> tuple[list[PaymentIntent], bool, str | None]:
    condition = search.to_condition(params.query)
    after_id = _decode_page(params.page) if params.page else None
    limit = check_limit(params.limit)
    items, has_more = await repository.search_page(
        session, caller.merchant_id, caller.livemode, condition, limit=limit, after_id=after_id
    )
    next_page = _encode_page(items[-1].id) if has_more and items else None
    return items, has_more, next_page


def _encode_page(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def _decode_page(page: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(page + "=" * (-len(page) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise codes.PARAMETER_INVALID(param="page", message="Invalid page cursor.") from None
    if not raw.startswith("pi_") or len(raw) > 36:
        raise codes.PARAMETER_INVALID(param="page", message="Invalid page cursor.")
    return raw


def _touch(pi: PaymentIntent) -> None:
    pi.updated = int(time.time())
    pi.version = (pi.version or 0) + 1
    note_changed(object_session(pi), pi.id)


def _emit(
    session: AsyncSession,
    pi: PaymentIntent,
    type_: str,
    origin: Origin,
    previous: dict[str, Any] | None = None,
) -> None:
    events.record(
        session,
        merchant_id=pi.merchant_id,
        livemode=pi.livemode,
        type=type_,
        obj=render_payment_intent(pi),
        origin=origin,
        previous_attributes=previous,
    )


# --- transitions driven by the chain (the watcher) ----------------------------------------------
# Every one locks the intent, checks the transition against payments/state.py and records the
# event in the same transaction. They return False when there is nothing to do (idempotent).


async def lock_for_chain(session: AsyncSession, intent_id: str) -> PaymentIntent | None:
    return await repository.lock_by_id(session, intent_id)


def chain_processing(session: AsyncSession, pi: PaymentIntent, txid: str) -> bool:
    """The payment transaction was seen (mempool or a block not yet deep enough)."""
    if pi.status == Status.PROCESSING and pi.txid == txid:
        return False
    if pi.status not in (Status.REQUIRES_ACTION, Status.SUCCEEDED, Status.PROCESSING):
        return False
    check_transition(pi.id, pi.status, Status.PROCESSING, "process")
    previous = {"status": pi.status, "amount_received": pi.amount_received}
    pi.status = Status.PROCESSING
    pi.txid = txid
    pi.amount_received = 0
    pi.block_height = None
    pi.block_hash = None
    pi.succeeded_at = None
    pi.last_payment_error = None
    _touch(pi)
    _emit(session, pi, EVENT_FOR[Status.PROCESSING], SYSTEM, previous)
    return True


def chain_succeeded(
    session: AsyncSession,
    pi: PaymentIntent,
    *,
    txid: str,
    amount_received: int,
    block_height: int,
    block_hash: str,
) -> bool:
    """The payment succeeded in a canonical block, buried deep enough. Never twice."""
    if pi.status == Status.SUCCEEDED:
        return False
    check_transition(pi.id, pi.status, Status.SUCCEEDED, "succeed")
    previous = {"status": pi.status, "amount_received": pi.amount_received}
    pi.status = Status.SUCCEEDED
    pi.txid = txid
    pi.amount_received = amount_received
    pi.block_height = block_height
    pi.block_hash = block_hash
    pi.succeeded_at = int(time.time())
    pi.next_action = None
    pi.last_payment_error = None
    _touch(pi)
    _emit(session, pi, EVENT_FOR[Status.SUCCEEDED], SYSTEM, previous)
    return True


def chain_failed(
    session: AsyncSession, pi: PaymentIntent, *, txid: str, code: str, message: str
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
    pi.last_payment_error = {
        "type": "card_error",
        "code": code,
        "message": message,
        "sbtc": {"txid": txid},
    }
    pi.txid = None
    _touch(pi)
    _emit(session, pi, PAYMENT_FAILED, SYSTEM, previous)
    return True


def chain_tx_gone(session: AsyncSession, pi: PaymentIntent, *, txid: str, reason: str) -> bool:
    """The payment transaction was dropped or replaced before it was mined: back to waiting
    for the wallet (the signed call still stands until its expiry height)."""
    if pi.status != Status.PROCESSING or pi.txid != txid:
        return False
    check_transition(pi.id, pi.status, Status.REQUIRES_ACTION, "reset")
    previous = {"status": pi.status}
    pi.status = Status.REQUIRES_ACTION
    pi.txid = None
    pi.last_payment_error = {
        "type": "card_error",
        "code": "transaction_dropped",
        "message": f"The payment transaction was not mined ({reason}); pay again.",
        "sbtc": {"txid": txid},
    }
    _touch(pi)
    _emit(session, pi, EVENT_FOR[Status.REQUIRES_ACTION], SYSTEM, previous)
    return True


def chain_mismatch(session: AsyncSession, pi: PaymentIntent, *, txid: str, problem: str) -> None:
    """An on-chain payment names this intent but does not match it: recorded and reported
    (last_payment_error and a `payment_intent.payment_failed` event), never credited."""
    previous = {"last_payment_error": pi.last_payment_error}
    pi.last_payment_error = {
        "type": "invalid_request_error",
        "code": "payment_mismatch",
        "message": f"An on-chain payment does not match this PaymentIntent: {problem}",
        "sbtc": {"txid": txid},
    }
    _touch(pi)
    _emit(session, pi, PAYMENT_FAILED, SYSTEM, previous)


def chain_fee(session: AsyncSession, pi: PaymentIntent, *, txid: str, status: str) -> None:
    """The fee's `distribute-fees` call landed (`distributed`) or failed (`failed`)."""
    pi.fee_status = status
    pi.fee_txid = txid
    note_changed(object_session(pi), pi.id)
