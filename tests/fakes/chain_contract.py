"""The payment contract and the sBTC ledger, as the fake chain (`tests/fakes/chain.py`) runs them.

Copied from `contracts/contracts/sbtc-payment-gateway.clar`, function by function, in the
contract's own order of checks (so the first failing assertion decides the error code, as in
the VM), for the functions the gateway uses: `pay-signed-intent`, `refund-payment`,
`distribute-fees`, `revoke-signed-intent`, `set-gateway-key`, `register-merchant`, and the
read-only `get-payment-intent`, `get-merchant`, `get-config`, `get-intent-status`,
`get-terms-hash`, `verify-intent-signature`, `calculate-fee`. sBTC is the token contract's
`transfer` (tx-sender or contract-caller must be the sender, else `(err u4)`) over `ft-transfer?`
(`(err u3)` for a non-positive amount, `(err u2)` to oneself, `(err u1)` without the balance).

A call runs against a `ContractState` the chain copies first; the chain keeps the copy only
when the call answers `(ok …)` and its post-conditions hold, which is Clarity's rollback.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from sbtc_gateway.chain import (
    FALSE,
    NONE,
    TRUE,
    Bool,
    Buffer,
    ClarityValue,
    ContractPrincipal,
    Err,
    Ok,
    Some,
    StandardPrincipal,
    StringAscii,
    Tuple,
    UInt,
    principal,
    terms_hash,
    verify_terms,
)

BPS = 10_000
MAX_FEE_BPS = 1_000
DEFAULT_FEE_BPS = 100
UNSET_KEY = bytes(33)
SBTC_ASSET_NAME = "sbtc-token"

# The contract's error codes (header, ERROR CODES), by the constant's name.
ERR_NOT_OWNER = 100
ERR_PAUSED = 102
ERR_WRONG_TOKEN = 103
ERR_MERCHANT_EXISTS = 104
ERR_MERCHANT_NOT_FOUND = 105
ERR_MERCHANT_INACTIVE = 106
ERR_INTENT_EXISTS = 107
ERR_INTENT_NOT_FOUND = 108
ERR_ALREADY_PAID = 109
ERR_EXPIRED = 110
ERR_CANCELLED = 111
ERR_INVALID_AMOUNT = 112
ERR_INVALID_FEE = 113
ERR_BAD_SIGNATURE = 114
ERR_UNDERPAID = 115
ERR_NOT_MERCHANT = 117
ERR_NOT_PAID = 118
ERR_REFUND_EXCEEDS = 119
ERR_NO_FEE = 120
ERR_INVALID_ID = 121
ERR_INVALID_KEY = 123
ERR_SELF_PAYMENT = 124
ERR_INVALID_REFUND = 125
# sbtc-token's `transfer` and Clarity's `ft-transfer?`
ERR_TOKEN_NOT_OWNER = 4
ERR_FT_NON_POSITIVE = 3
ERR_FT_SENDER_IS_RECIPIENT = 2
ERR_FT_BALANCE = 1

# Argument names and types as the contract interface gives them (the Hiro API shows both in
# `contract_call.function_args`; tuple members are listed sorted, as the VM does).
MERCHANT_DATA = "(tuple (email (string-ascii 100)) (name (string-ascii 100)))"
PUBLIC: Mapping[str, tuple[tuple[str, str], ...]] = {
    "pay-signed-intent": (
        ("token", "trait_reference"),
        ("intent-id", "(string-ascii 36)"),
        ("merchant", "principal"),
        ("amount", "uint"),
        ("fee", "uint"),
        ("expires-at", "uint"),
        ("signature", "(buff 65)"),
    ),
    "refund-payment": (
        ("token", "trait_reference"),
        ("payment-id", "(string-ascii 36)"),
        ("amount", "uint"),
    ),
    "distribute-fees": (("token", "trait_reference"), ("payment-id", "(string-ascii 36)")),
    "revoke-signed-intent": (("intent-id", "(string-ascii 36)"),),
    "set-gateway-key": (("new-key", "(buff 33)"),),
    "register-merchant": (("merchant-data", MERCHANT_DATA),),
}
# Public functions of the real contract that the fake does not run (refused at admission).
NOT_MODELLED = frozenset(
    {
        "update-merchant",
        "create-payment-intent",
        "cancel-payment-intent",
        "process-payment",
        "set-fee-recipient",
        "set-fee-bps",
        "set-fee-cap",
        "set-sbtc-token",
        "pause",
        "unpause",
        "suspend-merchant",
        "reinstate-merchant",
        "transfer-ownership",
        "cancel-ownership-transfer",
        "accept-ownership",
    }
)
_TERMS = (
    ("intent-id", "(string-ascii 36)"),
    ("merchant", "principal"),
    ("amount", "uint"),
    ("fee", "uint"),
    ("expires-at", "uint"),
)
READ_ONLY: Mapping[str, tuple[tuple[str, str], ...]] = {
    "get-merchant": (("merchant", "principal"),),
    "get-payment-intent": (("payment-id", "(string-ascii 36)"),),
    "get-intent-status": (("payment-id", "(string-ascii 36)"),),
    "get-config": (),
    "calculate-fee": (("amount", "uint"),),
    "get-terms-hash": _TERMS,
    "verify-intent-signature": (*_TERMS, ("signature", "(buff 65)")),
}


def signature_of(name: str, args: Sequence[tuple[str, str]], access: str) -> str:
    """`(define-public (name (arg type) …))`, the Hiro API's `function_signature`."""
    inner = "".join(f" ({arg} {kind})" for arg, kind in args)
    return f"({access} ({name}{inner}))"


def type_mismatch(value: ClarityValue, kind: str) -> str | None:
    """None when `value` fits the interface type `kind`, else the node's complaint."""
    sized = re.fullmatch(r"\((string-ascii|buff) (\d+)\)", kind)
    if kind == "uint":
        ok = isinstance(value, UInt)
    elif kind == "principal":
        ok = isinstance(value, StandardPrincipal | ContractPrincipal)
    elif kind == "trait_reference":
        ok = isinstance(value, ContractPrincipal)
    elif sized and sized.group(1) == "string-ascii":
        ok = isinstance(value, StringAscii) and len(value.text) <= int(sized.group(2))
    elif sized:
        ok = isinstance(value, Buffer) and len(value.data) <= int(sized.group(2))
    elif kind == MERCHANT_DATA:
        members = value.fields if isinstance(value, Tuple) else {}
        ok = set(members) == {"email", "name"} and all(
            isinstance(v, StringAscii) and len(v.text) <= 100 for v in members.values()
        )
    else:
        raise AssertionError(f"no check for {kind}")
    return None if ok else f"expected {kind}, got {value!r}"


# --- state ------------------------------------------------------------------------------------


@dataclass
class MerchantRecord:
    name: str
    email: str
    created_at: int
    active: bool = True
    total_processed: int = 0

    def to_clarity(self) -> Tuple:
        return Tuple(
            {
                "name": StringAscii(self.name),
                "email": StringAscii(self.email),
                "active": Bool(self.active),
                "total-processed": UInt(self.total_processed),
                "created-at": UInt(self.created_at),
            }
        )


@dataclass
class IntentRecord:
    merchant: str
    amount: int
    fee: int
    status: str
    customer: str | None
    created_at: int
    expires_at: int
    signed: bool
    refunded: int = 0
    fee_distributed: bool = False
    paid_at: int | None = None

    def to_clarity(self) -> Tuple:
        return Tuple(
            {
                "merchant": principal(self.merchant),
                "amount": UInt(self.amount),
                "fee": UInt(self.fee),
                "status": StringAscii(self.status),
                "customer": NONE if self.customer is None else Some(principal(self.customer)),
                "created-at": UInt(self.created_at),
                "expires-at": UInt(self.expires_at),
                "signed": Bool(self.signed),
                "refunded": UInt(self.refunded),
                "fee-distributed": Bool(self.fee_distributed),
                "paid-at": NONE if self.paid_at is None else Some(UInt(self.paid_at)),
            }
        )


@dataclass
class ContractState:
    """The contract's data vars and maps, and the sBTC token's balances."""

    contract_id: str
    chain_id: int
    owner: str
    sbtc_token: str
    fee_recipient: str
    gateway_pubkey: bytes = UNSET_KEY
    paused: bool = False
    fee_bps: int = DEFAULT_FEE_BPS
    fee_cap_bps: int = MAX_FEE_BPS
    fees_pending: int = 0
    merchants: dict[str, MerchantRecord] = field(default_factory=dict)
    intents: dict[str, IntentRecord] = field(default_factory=dict)
    sbtc: dict[str, int] = field(default_factory=dict)

    def config(self) -> Tuple:
        return Tuple(
            {
                "owner": principal(self.owner),
                "pending-owner": NONE,
                "paused": Bool(self.paused),
                "sbtc-token": principal(self.sbtc_token),
                "gateway-pubkey": Buffer(self.gateway_pubkey),
                "fee-recipient": principal(self.fee_recipient),
                "fee-bps": UInt(self.fee_bps),
                "fee-cap-bps": UInt(self.fee_cap_bps),
                "max-fee-bps": UInt(MAX_FEE_BPS),
                "fees-pending": UInt(self.fees_pending),
                "chain-id": UInt(self.chain_id),
                "contract": principal(self.contract_id),
            }
        )

    def data_var(self, name: str) -> ClarityValue | None:
        values: dict[str, ClarityValue] = {
            "contract-owner": principal(self.owner),
            "pending-owner": NONE,
            "paused": Bool(self.paused),
            "sbtc-token": principal(self.sbtc_token),
            "gateway-pubkey": Buffer(self.gateway_pubkey),
            "fee-recipient": principal(self.fee_recipient),
            "fee-bps": UInt(self.fee_bps),
            "fee-cap-bps": UInt(self.fee_cap_bps),
            "fees-pending": UInt(self.fees_pending),
        }
        return values.get(name)

    def map_entry(self, name: str, key: ClarityValue) -> ClarityValue | None:
        """The entry as `(some value)` / `none`; None for a map the contract does not have."""
        if name == "merchants" and isinstance(key, StandardPrincipal | ContractPrincipal):
            merchant = self.merchants.get(_text(key))
            return NONE if merchant is None else Some(merchant.to_clarity())
        if name == "payment-intents" and isinstance(key, StringAscii):
            intent = self.intents.get(key.text)
            return NONE if intent is None else Some(intent.to_clarity())
        if name in ("merchants", "payment-intents"):
            return NONE
        return None


# --- events and outcomes ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FtTransfer:
    """An `ft_transfer_event` of sBTC."""

    sender: str
    recipient: str
    amount: int


@dataclass(frozen=True, slots=True)
class Print:
    """A `print` of the contract (a `smart_contract_log`)."""

    value: Tuple


ContractEvent = FtTransfer | Print


class Abort(Exception):
    """`(err uN)`: the call returns an error and Clarity rolls back everything it did."""

    def __init__(self, code: int) -> None:
        super().__init__(f"(err u{code})")
        self.code = code


@dataclass(frozen=True, slots=True)
class Outcome:
    result: ClarityValue
    events: tuple[ContractEvent, ...]


@dataclass
class Call:
    """One public-function call: who sends it, at which height, and what it has done so far."""

    state: ContractState
    sender: str
    height: int
    events: list[ContractEvent] = field(default_factory=list)

    def check(self, condition: bool, code: int) -> None:
        if not condition:
            raise Abort(code)

    def print(self, **fields: ClarityValue) -> None:
        self.events.append(Print(Tuple({k.replace("_", "-"): v for k, v in fields.items()})))

    def is_owner(self) -> bool:
        # The contract compares contract-caller; for a direct call that is the sender.
        return self.sender == self.state.owner

    def check_token(self, token: ClarityValue) -> None:
        self.check(_text(token) == self.state.sbtc_token, ERR_WRONG_TOKEN)

    def transfer(self, amount: int, sender: str, recipient: str, *, caller: str) -> None:
        """sbtc-token's `transfer` called by `caller` (tx-sender, or the contract under
        `as-contract?`), with no memo, so it prints nothing."""
        self.check(caller == sender, ERR_TOKEN_NOT_OWNER)
        self.check(amount > 0, ERR_FT_NON_POSITIVE)
        self.check(sender != recipient, ERR_FT_SENDER_IS_RECIPIENT)
        balances = self.state.sbtc
        self.check(balances.get(sender, 0) >= amount, ERR_FT_BALANCE)
        balances[sender] = balances.get(sender, 0) - amount
        balances[recipient] = balances.get(recipient, 0) + amount
        self.events.append(FtTransfer(sender, recipient, amount))


def _text(value: ClarityValue) -> str:
    if isinstance(value, StandardPrincipal):
        return value.address
    if isinstance(value, ContractPrincipal):
        return value.contract_id
    if isinstance(value, StringAscii):
        return value.text
    raise TypeError(f"not a principal or string: {value!r}")


def _uint(value: ClarityValue) -> int:
    assert isinstance(value, UInt), value
    return value.value


# --- public functions ---------------------------------------------------------------------------


def _terms(state: ContractState, args: Sequence[ClarityValue]) -> Tuple:
    """The `get-terms-hash` tuple for (intent-id merchant amount fee expires-at)."""
    intent_id, merchant, amount, fee, expires_at = args[:5]
    return Tuple(
        {
            "amount": amount,
            "chain-id": UInt(state.chain_id),
            "contract": principal(state.contract_id),
            "expires-at": expires_at,
            "fee": fee,
            "intent-id": intent_id,
            "merchant": merchant,
        }
    )


def _verify(state: ContractState, args: Sequence[ClarityValue]) -> bool:
    signature = args[5]
    assert isinstance(signature, Buffer)
    try:
        return verify_terms(_terms(state, args), signature.data, state.gateway_pubkey)
    except Exception:  # an unset or malformed key verifies nothing, as secp256k1-verify
        return False


def pay_signed_intent(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    token, intent_id_v, merchant_v, amount_v, fee_v, expires_v, _signature = args
    state = call.state
    intent_id, merchant = _text(intent_id_v), _text(merchant_v)
    amount, fee, expires_at = _uint(amount_v), _uint(fee_v), _uint(expires_v)
    call.check(not state.paused, ERR_PAUSED)
    call.check_token(token)
    existing = state.intents.get(intent_id)  # check-intent-id-unused
    if existing is not None:
        if existing.status == "cancelled":
            raise Abort(ERR_CANCELLED)
        raise Abort(ERR_INTENT_EXISTS if existing.status == "pending" else ERR_ALREADY_PAID)
    call.check(len(intent_id) > 0, ERR_INVALID_ID)
    call.check(amount > 0, ERR_INVALID_AMOUNT)
    call.check(fee * BPS <= amount * state.fee_cap_bps, ERR_INVALID_FEE)
    call.check(call.height < expires_at, ERR_EXPIRED)
    call.check(_verify(state, args[1:]), ERR_BAD_SIGNATURE)
    _settle(call, token, intent_id, merchant, amount, fee)
    state.intents[intent_id] = IntentRecord(
        merchant=merchant,
        amount=amount,
        fee=fee,
        status="paid",
        customer=call.sender,
        created_at=call.height,
        expires_at=expires_at,
        signed=True,
        paid_at=call.height,
    )
    return TRUE


def _settle(
    call: Call, token: ClarityValue, intent_id: str, merchant: str, amount: int, fee: int
) -> None:
    state, payer = call.state, call.sender
    record = state.merchants.get(merchant)
    call.check(record is not None, ERR_MERCHANT_NOT_FOUND)
    assert record is not None
    call.check(record.active, ERR_MERCHANT_INACTIVE)
    call.check(payer != merchant, ERR_SELF_PAYMENT)
    call.check(state.sbtc.get(payer, 0) >= amount, ERR_UNDERPAID)
    call.transfer(amount - fee, payer, merchant, caller=payer)
    if fee > 0:
        call.transfer(fee, payer, state.contract_id, caller=payer)
    record.total_processed += amount
    state.fees_pending += fee
    call.print(
        event=StringAscii("intent-paid"),
        intent_id=StringAscii(intent_id),
        merchant=principal(merchant),
        payer=principal(payer),
        amount=UInt(amount),
        fee=UInt(fee),
        merchant_amount=UInt(amount - fee),
        signed=TRUE,
        token=token,
        block=UInt(call.height),
    )


def refund_payment(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    token, payment_id_v, amount_v = args
    state, payment_id, amount = call.state, _text(payment_id_v), _uint(amount_v)
    intent = state.intents.get(payment_id)  # the `let` bindings come first
    call.check(intent is not None, ERR_INTENT_NOT_FOUND)
    assert intent is not None
    payer = intent.customer
    call.check(payer is not None, ERR_NOT_PAID)
    assert payer is not None
    total = intent.refunded + amount
    full = total == intent.amount
    call.check_token(token)
    call.check(call.sender == intent.merchant, ERR_NOT_MERCHANT)
    call.check(amount > 0, ERR_INVALID_REFUND)
    call.check(total <= intent.amount, ERR_REFUND_EXCEEDS)
    call.transfer(amount, call.sender, payer, caller=call.sender)
    intent.refunded = total
    if full:
        intent.status = "refunded"
    call.print(
        event=StringAscii("refund"),
        intent_id=StringAscii(payment_id),
        merchant=principal(call.sender),
        payer=principal(payer),
        amount=UInt(amount),
        total_refunded=UInt(total),
        fully_refunded=Bool(full),
    )
    return UInt(total)


def distribute_fees(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    token, payment_id_v = args
    state, payment_id = call.state, _text(payment_id_v)
    intent = state.intents.get(payment_id)
    call.check(intent is not None, ERR_INTENT_NOT_FOUND)
    assert intent is not None
    fee, recipient = intent.fee, state.fee_recipient
    call.check_token(token)
    call.check(intent.paid_at is not None, ERR_NOT_PAID)
    call.check(fee > 0 and not intent.fee_distributed, ERR_NO_FEE)
    # Under `as-contract?` the contract is the token's caller; its allowance is exactly `fee`,
    # so u127 (allowance exceeded) cannot happen, and the contract always holds its pending fees.
    call.transfer(fee, state.contract_id, recipient, caller=state.contract_id)
    intent.fee_distributed = True
    state.fees_pending -= fee
    call.print(
        event=StringAscii("fees-distributed"),
        intent_id=StringAscii(payment_id),
        recipient=principal(recipient),
        amount=UInt(fee),
    )
    return UInt(fee)


def revoke_signed_intent(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    intent_id = _text(args[0])
    call.check(call.is_owner(), ERR_NOT_OWNER)
    call.check(len(intent_id) > 0, ERR_INVALID_ID)
    call.check(intent_id not in call.state.intents, ERR_INTENT_EXISTS)  # map-insert
    call.state.intents[intent_id] = IntentRecord(
        merchant=call.sender,
        amount=0,
        fee=0,
        status="cancelled",
        customer=None,
        created_at=call.height,
        expires_at=call.height,
        signed=True,
    )
    call.print(
        event=StringAscii("intent-revoked"),
        intent_id=StringAscii(intent_id),
        by=principal(call.sender),
    )
    return TRUE


def set_gateway_key(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    new_key = args[0]
    assert isinstance(new_key, Buffer)
    call.check(call.is_owner(), ERR_NOT_OWNER)
    call.check(len(new_key.data) == 33 and new_key.data[:1] in (b"\x02", b"\x03"), ERR_INVALID_KEY)
    call.print(
        event=StringAscii("gateway-key-rotated"),
        old_key=Buffer(call.state.gateway_pubkey),
        new_key=new_key,
    )
    call.state.gateway_pubkey = new_key.data
    return TRUE


def register_merchant(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    data = args[0]
    assert isinstance(data, Tuple)
    name, email = _text(data.fields["name"]), _text(data.fields["email"])
    call.check(not call.state.paused, ERR_PAUSED)
    call.check(call.sender not in call.state.merchants, ERR_MERCHANT_EXISTS)  # map-insert
    call.state.merchants[call.sender] = MerchantRecord(name, email, created_at=call.height)
    call.print(
        event=StringAscii("merchant-registered"),
        merchant=principal(call.sender),
        name=StringAscii(name),
        email=StringAscii(email),
        block=UInt(call.height),
    )
    return TRUE


_PUBLIC: Mapping[str, Callable[[Call, Sequence[ClarityValue]], ClarityValue]] = {
    "pay-signed-intent": pay_signed_intent,
    "refund-payment": refund_payment,
    "distribute-fees": distribute_fees,
    "revoke-signed-intent": revoke_signed_intent,
    "set-gateway-key": set_gateway_key,
    "register-merchant": register_merchant,
}


def execute(
    state: ContractState, sender: str, function: str, args: Sequence[ClarityValue], height: int
) -> Outcome:
    """Run a public function on `state` (changed in place: copy it first)."""
    call = Call(state, sender, height)
    try:
        result: ClarityValue = Ok(_PUBLIC[function](call, args))
    except Abort as abort:
        return Outcome(Err(UInt(abort.code)), ())
    return Outcome(result, tuple(call.events))


# --- read-only functions ------------------------------------------------------------------------


def read_only(
    state: ContractState, function: str, args: Sequence[ClarityValue], height: int
) -> ClarityValue:
    """A read-only function's value (the arguments are already type-checked)."""
    if function == "get-config":
        return state.config()
    if function == "get-merchant":
        merchant = state.merchants.get(_text(args[0]))
        return NONE if merchant is None else Some(merchant.to_clarity())
    if function == "get-payment-intent":
        intent = state.intents.get(_text(args[0]))
        return NONE if intent is None else Some(intent.to_clarity())
    if function == "get-intent-status":
        intent = state.intents.get(_text(args[0]))
        if intent is None:
            return StringAscii("unknown")
        expired = intent.status == "pending" and height >= intent.expires_at
        return StringAscii("expired" if expired else intent.status)
    if function == "calculate-fee":
        return UInt(_uint(args[0]) * state.fee_bps // BPS)
    if function == "get-terms-hash":
        return Buffer(terms_hash(_terms(state, args)))
    if function == "verify-intent-signature":
        return TRUE if _verify(state, args) else FALSE
    raise KeyError(function)
