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
from sbtc_gateway.payments.onchain import ChainTips, ContractFacts
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
    # Earlier deployments still followed, oldest first (ADR 0101): their payments are refunded
    # and their held fees paid out there; new intents are signed for `contract()` only.
    test_previous_contracts: tuple[str, ...] = ()
    live_previous_contracts: tuple[str, ...] = ()

    def network(self, livemode: bool) -> str:
        return "mainnet" if livemode else self.test_network

    def contract(self, livemode: bool) -> str | None:
        """The deployment new intents are signed for."""
        return self.live_contract if livemode else self.test_contract

    def contract_of(self, livemode: bool, contract_id: str | None) -> str | None:
        """The deployment an intent belongs to: the one it was signed for, or, for an intent
        confirmed before that was recorded (revision 0007c), the network's first one."""
        if contract_id is not None:
            return contract_id
        previous = self.live_previous_contracts if livemode else self.test_previous_contracts
        return previous[0] if previous else self.contract(livemode)

    def client_secret(self, intent_id: str) -> str:
        return onchain.client_secret(self.client_secret_key, intent_id)


@dataclass(frozen=True, slots=True)
class ChainReading:
    """What a confirmation read of the chain before its transaction opened (each part cached
    briefly): the tip, for the expiry height, and what decides whether the contract would
    accept the payment: paused, the gateway keys it accepts, the payee's suspension."""

    tip: int
    contract_id: str
    contract: ContractFacts
    payee: str
    payee_suspended: bool


@dataclass(frozen=True, slots=True)
class SignedFor:
    """Where an intent's terms are already signed, and until which height they can be paid."""

    contract_id: str | None
    expires_at_block: int | None


def signing_contract(
    cfg: PaymentSettings, livemode: bool, signed: SignedFor | None, tip: int
) -> str | None:
    """The deployment terms are (re-)signed for: the one the intent's live terms name, while
    they can still be paid there (the id is paid once per deployment, so terms on two
    deployments could both be paid), else the one new intents are signed for."""
    if signed is not None and signed.expires_at_block is not None and tip < signed.expires_at_block:
        return cfg.contract_of(livemode, signed.contract_id)
    return cfg.contract(livemode)


async def chain_reading(
    cfg: PaymentSettings, livemode: bool, payee: str | None, signed: SignedFor | None = None
) -> ChainReading:
    """Read before the confirming transaction opens: never under a row lock. `payee`: the
    payout address the terms will name; `signed`: where they are signed already, if anywhere."""
    if cfg.tips is None:
        raise codes.PAYMENTS_NOT_CONFIGURED()
    if cfg.contract(livemode) is None:
        raise codes.LIVEMODE_NOT_CONFIGURED()
    if payee is None:
        raise codes.LIVE_PAYOUT_ADDRESS_MISSING()
    network = cfg.network(livemode)
    tip = await cfg.tips.height(network)
    contract = signing_contract(cfg, livemode, signed, tip)
    assert contract is not None
    facts = await cfg.tips.contract(network, contract)
    suspended = await cfg.tips.suspended(network, contract, payee)
    return ChainReading(tip, contract, facts, payee, suspended)


def _check_chain(cfg: PaymentSettings, pi: PaymentIntent, reading: ChainReading | None) -> int:
    """Refuse to hand out a call the contract would refuse; returns the last height (if any)
    below which the terms' signature verifies (a key in a planned rotation's overlap)."""
    signed = SignedFor(pi.contract_id, pi.expires_at_block) if pi.expires_at_block else None
    if (
        reading is None
        or reading.payee != pi.payout_address
        or reading.contract_id != signing_contract(cfg, pi.livemode, signed, reading.tip)
    ):
        # read for another intent state than the one now locked: the client retries
        raise codes.CHAIN_UNAVAILABLE()
    network = cfg.network(pi.livemode)
    if reading.contract.paused:
        raise codes.CONTRACT_PAUSED(network=network)
    if reading.payee_suspended:
        raise codes.PAYOUT_ADDRESS_SUSPENDED(address=pi.payout_address)
    assert cfg.signing_key is not None
    ok, until = reading.contract.key_status(cfg.signing_key.public_key)
    if not ok or (until is not None and until <= reading.tip + 1):
        raise codes.GATEWAY_KEY_MISMATCH(network=network)
    return until if until is not None else 0


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
    reading: ChainReading | None = None,
) -> PaymentIntent:
    """`reading`: the chain read before the transaction, needed when `confirm` is set."""
    _check_amount(cfg, params.amount)
    _check_method_types(params.payment_method_types)
    payout = merchant.payout(caller.livemode)
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
        _confirm(cfg, pi, origin, session, reading)
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


async def confirm_target(
    session: AsyncSession, caller: AuthenticatedKey, intent_id: str
) -> tuple[str, SignedFor | None] | None:
    """What a confirmation will ask the chain about (None if there is no such intent): the
    address the intent pays and where its terms are signed already. Read without a lock,
    before the confirmation's transaction."""
    pi = await repository.get(session, caller.merchant_id, caller.livemode, intent_id)
    if pi is None:
        return None
    signed = SignedFor(pi.contract_id, pi.expires_at_block) if pi.expires_at_block else None
    return pi.payout_address, signed


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
    reading: ChainReading | None,
) -> PaymentIntent:
    """`reading`: the chain, read before this transaction opened (`chain_reading`)."""
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
        # Confirming again with the same terms changes nothing: the wallet call stands, if
        # the contract would still take it.
        if cfg.signing_key is not None:
            _check_chain(cfg, pi, reading)
        return pi
    pi.payer = payer
    if params.receipt_email is not None:
        pi.receipt_email = params.receipt_email
    if params.return_url is not None:
        pi.return_url = params.return_url
    _confirm(cfg, pi, origin, session, reading)
    await session.flush()
    return pi


def _confirm(
    cfg: PaymentSettings,
    pi: PaymentIntent,
    origin: Origin,
    session: AsyncSession,
    reading: ChainReading | None,
) -> None:
    check_transition(pi.id, pi.status, Status.REQUIRES_ACTION, "confirm")
    if cfg.contract(pi.livemode) is None:
        raise codes.LIVEMODE_NOT_CONFIGURED()
    if cfg.signing_key is None:
        raise codes.PAYMENTS_NOT_CONFIGURED()
    key_until = _check_chain(cfg, pi, reading)
    assert reading is not None
    contract = reading.contract_id
    remaining = pi.expires_at - int(time.time())
    expires_at_block = reading.tip + onchain.blocks_for(remaining, cfg.block_time_seconds)
    if key_until:
        # Signed with the key a planned rotation replaced: payable only within its overlap.
        expires_at_block = min(expires_at_block, key_until)
    previous = {"status": pi.status, "next_action": pi.next_action}
    pi.status = Status.REQUIRES_ACTION
    pi.last_payment_error = None
    pi.expires_at_block = expires_at_block
    # The deployment the terms are signed for: it pays, refunds and holds fees of this intent.
    pi.contract_id = contract
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
    contract = (
        cfg.contract_of(pi.livemode, pi.contract_id)
        if cfg is not None and cfg.revoke_on_cancel
        else None
    )
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
