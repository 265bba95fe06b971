"""PaymentIntent business logic. Takes a session, never commits; writes events with changes."""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import object_session

from sbtc_gateway.chain import PrivateKey
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.errors import GatewayError
from sbtc_gateway.core.ids import new_id
from sbtc_gateway.core.money import fee_for
from sbtc_gateway.core.origin import SYSTEM, Origin
from sbtc_gateway.core.paging import check_limit, decode_page, encode_page
from sbtc_gateway.core.params import merge_metadata
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.events import service as events
from sbtc_gateway.merchants.service import MerchantTerms, validate_payout_address
from sbtc_gateway.merchants.tiers import FEE_BASIS_POINTS, Tier
from sbtc_gateway.operator import service as operator
from sbtc_gateway.operator.calls import Function
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
    # HMAC key the client secrets are derived from (onchain.client_secret).
    client_secret_key: bytes = b""
    # An operator key is configured: canceling a confirmed intent revokes its terms on chain.
    revoke_on_cancel: bool = False

    def network(self, livemode: bool) -> str:
        return "mainnet" if livemode else self.test_network

    def contract(self, livemode: bool) -> str | None:
        return self.live_contract if livemode else self.test_contract

    def client_secret(self, intent_id: str) -> str:
        return onchain.client_secret(self.client_secret_key, intent_id)


async def chain_tip(cfg: PaymentSettings, livemode: bool) -> int:
    """The current Stacks tip of the mode's network, for a confirmation's expiry height. Read
    before the confirming transaction opens (cached briefly): never under a row lock."""
    if cfg.tips is None:
        raise codes.PAYMENTS_NOT_CONFIGURED()
    return await cfg.tips.height(cfg.network(livemode))


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
    *,
    tip: int | None = None,
) -> PaymentIntent:
    """`tip`: the chain tip read before the transaction, needed when `confirm` is set."""
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
        payer=payer,
        payout_address=payout,
        return_url=params.return_url,
        expires_at=now + (merchant.payment_expiry_seconds or cfg.default_expiry_seconds),
        created=now,
        updated=now,
        version=1,
    )
    session.add(pi)
    emit(session, pi, "payment_intent.created", origin)
    if params.confirm:
        _confirm(cfg, pi, origin, session, tip)
    await session.flush()
    return pi


async def retrieve(
    session: AsyncSession,
    cfg: PaymentSettings,
    caller: AuthenticatedKey,
    intent_id: str,
    client_secret: str | None,
) -> PaymentIntent:
    pi = await repository.get(session, caller.merchant_id, caller.livemode, intent_id)
    if pi is None:
        raise _not_found(intent_id)
    if caller.kind == "publishable":
        check_client_secret(cfg, intent_id, client_secret)
    return pi


def check_client_secret(cfg: PaymentSettings, intent_id: str, client_secret: str | None) -> None:
    stored = cfg.client_secret(intent_id)

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
    touch(pi)
    await session.flush()
    return pi


async def confirm(
    session: AsyncSession,
    cfg: PaymentSettings,
    caller: AuthenticatedKey,
    intent_id: str,
    params: PaymentIntentConfirmParams,
    origin: Origin,
    *,
    tip: int | None,
) -> PaymentIntent:
    """`tip`: the chain tip, read before this transaction opened (`chain_tip`)."""
    pi = await _locked(session, caller, intent_id)
    if caller.kind == "publishable":
        check_client_secret(cfg, pi.id, params.client_secret)
    elif params.client_secret is not None and not hmac.compare_digest(
        params.client_secret.encode(), cfg.client_secret(pi.id).encode()
    ):
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
    _confirm(cfg, pi, origin, session, tip)
    await session.flush()
    return pi


def _confirm(
    cfg: PaymentSettings,
    pi: PaymentIntent,
    origin: Origin,
    session: AsyncSession,
    tip: int | None,
) -> None:
    check_transition(pi.id, pi.status, Status.REQUIRES_ACTION, "confirm")
    contract = cfg.contract(pi.livemode)
    if contract is None:
        raise codes.LIVEMODE_NOT_CONFIGURED()
    if cfg.signing_key is None:
        raise codes.PAYMENTS_NOT_CONFIGURED()
    if tip is None:
        raise codes.CHAIN_UNAVAILABLE()
    remaining = pi.expires_at - int(time.time())
    expires_at_block = tip + onchain.blocks_for(remaining, cfg.block_time_seconds)
    previous = {"status": pi.status, "next_action": pi.next_action}
    pi.status = Status.REQUIRES_ACTION
    pi.last_payment_error = None
    pi.expires_at_block = expires_at_block
    # The call itself (with the gateway's signature) is rebuilt when the intent is shown
    # (`views.present`), so neither the database nor an event payload holds the signature.
    pi.next_action = {
        "type": "sbtc_contract_call",
        "redirect_to_url": {
            "url": f"{cfg.checkout_base_url}/checkout/{pi.id}",
            "return_url": pi.return_url,
        },
    }
    touch(pi)
    emit(session, pi, EVENT_FOR[Status.REQUIRES_ACTION], origin, previous)


async def cancel(
    session: AsyncSession,
    caller: AuthenticatedKey,
    intent_id: str,
    params: PaymentIntentCancelParams,
    origin: Origin,
    cfg: PaymentSettings | None = None,
) -> PaymentIntent:
    pi = await _locked(session, caller, intent_id)
    if pi.status not in CANCELABLE:
        check_transition(pi.id, pi.status, Status.CANCELED, "cancel")
        raise codes.PAYMENT_INTENT_UNEXPECTED_STATE(
            action="cancel",
            status=pi.status,
            extra={"payment_intent": {"id": pi.id, "status": pi.status}},
        )
    _cancel(session, pi, params.cancellation_reason, origin, cfg)
    await session.flush()
    return pi


def _cancel(
    session: AsyncSession,
    pi: PaymentIntent,
    reason: str | None,
    origin: Origin,
    cfg: PaymentSettings | None = None,
) -> None:
    check_transition(pi.id, pi.status, Status.CANCELED, "cancel")
    contract = cfg.contract(pi.livemode) if cfg is not None and cfg.revoke_on_cancel else None
    if contract is not None and cfg is not None and pi.expires_at_block is not None:
        # Its signed terms stay payable on chain until their expiry height: revoke them.
        operator.enqueue(
            session,
            network=cfg.network(pi.livemode),
            contract_id=contract,
            function=Function.REVOKE_SIGNED_INTENT,
            intent_id=pi.id,
        )
    previous = {"status": pi.status, "next_action": pi.next_action}
    pi.status = Status.CANCELED
    pi.cancellation_reason = reason
    pi.canceled_at = int(time.time())
    pi.next_action = None
    touch(pi)
    emit(session, pi, EVENT_FOR[Status.CANCELED], origin, previous)


async def expire_due(
    session: AsyncSession, *, batch: int = 200, cfg: PaymentSettings | None = None
) -> int:
    """Cancel unpaid intents past `expires_at` with reason `expired`. Returns how many."""
    now = int(time.time())
    count = 0
    for intent_id in await repository.expired_ids(session, now, batch):
        pi = await repository.lock_by_id(session, intent_id)
        # Re-check under the lock: a payment may have arrived since the scan.
        if pi is None or pi.status not in CANCELABLE or pi.expires_at > now:
            continue
        _cancel(session, pi, "expired", SYSTEM, cfg)
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
    after_id = decode_page(params.page, "pi_") if params.page else None
    limit = check_limit(params.limit)
    items, has_more = await repository.search_page(
        session, caller.merchant_id, caller.livemode, condition, limit=limit, after_id=after_id
    )
    next_page = encode_page(items[-1].id) if has_more and items else None
    return items, has_more, next_page


def touch(pi: PaymentIntent) -> None:
    pi.updated = int(time.time())
    note_changed(object_session(pi), pi.id)


def emit(
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
