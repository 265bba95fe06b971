"""The payment contract and the sBTC ledger, as the fake chain (`tests/fakes/chain.py`) runs them.

Copied from `contracts/contracts/sbtc-payment-gateway.clar`, function by function, in the
contract's own order of checks (so the first failing assertion decides the error code, as in
the VM), for the functions the gateway uses: `pay-signed-intent`, `refund-payment`,
`distribute-fees`, `revoke-signed-intent`, `set-gateway-key`, `rotate-gateway-key`,
`register-merchant`, `pause`, `unpause`, `suspend-merchant`, `reinstate-merchant`, and the
read-only `get-signed-intent`, `get-merchant`, `get-merchant-totals`, `is-suspended`,
`get-config`, `get-fees-held`, `get-signed-intent-status`, `get-terms-hash`,
`verify-intent-signature`, `calculate-fee`. The owner's announced settings (token, fee
recipient, fee rate and cap: in force CHANGE-DELAY blocks after their announcement) are not
modelled: the fake holds the values in force, which no call of the gateway changes. Merchants'
own on-chain intents (`payment-intents`, keyed by merchant and id) are not modelled either.
sBTC is the token contract's
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
ERR_PROXY_CALL = 129
ERR_OVERLAP_TOO_LONG = 132
MAX_KEY_OVERLAP = 4320
CHANGE_DELAY = 4320
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
    "rotate-gateway-key": (("new-key", "(buff 33)"), ("overlap", "uint")),
    "register-merchant": (("merchant-data", MERCHANT_DATA),),
    "pause": (),
    "unpause": (),
    "suspend-merchant": (("merchant", "principal"),),
    "reinstate-merchant": (("merchant", "principal"),),
}
# Public functions of the real contract that the fake does not run (refused at admission).
NOT_MODELLED = frozenset(
    {
        "update-merchant",
        "create-payment-intent",
        "cancel-payment-intent",
        "process-payment",
        "refund-onchain-payment",
        "distribute-onchain-fees",
        "set-fee-recipient",
        "set-fee-bps",
        "set-fee-cap",
        "set-sbtc-token",
        "recover-stray",
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
    ("token", "principal"),
)
READ_ONLY: Mapping[str, tuple[tuple[str, str], ...]] = {
    "get-merchant": (("merchant", "principal"),),
    "get-merchant-totals": (("merchant", "principal"),),
    "is-suspended": (("who", "principal"),),
    "get-signed-intent": (("intent-id", "(string-ascii 36)"),),
    "get-signed-intent-status": (("intent-id", "(string-ascii 36)"),),
    "get-config": (),
    "get-fees-held": (("token", "principal"),),
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
    """The `merchants` map as stored (its `active` and `total-processed` are answered from the
    deny list and the payee totals by `get-merchant`)."""

    name: str
    email: str
    created_at: int

    def to_clarity(self, *, active: bool, total_processed: int) -> Tuple:
        return Tuple(
            {
                "name": StringAscii(self.name),
                "email": StringAscii(self.email),
                "active": Bool(active),
                "total-processed": UInt(total_processed),
                "created-at": UInt(self.created_at),
            }
        )


@dataclass
class Totals:
    """`merchant-totals`: what a payee was paid (gross, net of fees, how many payments)."""

    processed: int = 0
    received: int = 0
    payments: int = 0

    def to_clarity(self) -> Tuple:
        return Tuple(
            {
                "processed": UInt(self.processed),
                "received": UInt(self.received),
                "payments": UInt(self.payments),
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
    token: str
    refunded: int = 0
    fee_recipient: str | None = None
    fee_held: bool = False
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
                "token": principal(self.token),
                "refunded": UInt(self.refunded),
                "fee-recipient": (
                    NONE if self.fee_recipient is None else Some(principal(self.fee_recipient))
                ),
                "fee-held": Bool(self.fee_held),
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
    # the key a planned rotation replaced, valid below `previous_key_until`
    previous_pubkey: bytes = UNSET_KEY
    previous_key_until: int = 0
    paused: bool = False
    fee_bps: int = DEFAULT_FEE_BPS
    fee_cap_bps: int = MAX_FEE_BPS
    merchants: dict[str, MerchantRecord] = field(default_factory=dict)
    suspended: set[str] = field(default_factory=set)
    totals: dict[str, Totals] = field(default_factory=dict)
    # `signed-intents`, keyed by intent id
    intents: dict[str, IntentRecord] = field(default_factory=dict)
    fees_held: dict[str, int] = field(default_factory=dict)
    sbtc: dict[str, int] = field(default_factory=dict)

    def held(self, token: str) -> int:
        return self.fees_held.get(token, 0)

    def merchant(self, who: str) -> ClarityValue:
        record = self.merchants.get(who)
        if record is None:
            return NONE
        totals = self.totals.get(who, Totals())
        active = who not in self.suspended
        return Some(record.to_clarity(active=active, total_processed=totals.processed))

    def config(self, height: int) -> Tuple:
        previous = self.previous_pubkey if height < self.previous_key_until else None
        return Tuple(
            {
                "owner": principal(self.owner),
                "pending-owner": NONE,
                "paused": Bool(self.paused),
                "sbtc-token": principal(self.sbtc_token),
                "gateway-pubkey": Buffer(self.gateway_pubkey),
                "previous-gateway-pubkey": NONE if previous is None else Some(Buffer(previous)),
                "previous-key-valid-until": UInt(self.previous_key_until),
                "fee-recipient": principal(self.fee_recipient),
                "fee-bps": UInt(self.fee_bps),
                "fee-cap-bps": UInt(self.fee_cap_bps),
                "max-fee-bps": UInt(MAX_FEE_BPS),
                "fees-pending": UInt(self.held(self.sbtc_token)),
                "change-delay": UInt(CHANGE_DELAY),
                "chain-id": UInt(self.chain_id),
                "contract": principal(self.contract_id),
            }
        )

    def data_var(self, name: str) -> ClarityValue | None:
        values: dict[str, ClarityValue] = {
            "contract-owner": principal(self.owner),
            "pending-owner": NONE,
            "paused": Bool(self.paused),
            "gateway-pubkey": Buffer(self.gateway_pubkey),
            "previous-gateway-pubkey": Buffer(self.previous_pubkey),
            "previous-key-until": UInt(self.previous_key_until),
        }
        return values.get(name)

    def map_entry(self, name: str, key: ClarityValue) -> ClarityValue | None:
        """The entry as `(some value)` / `none`; None for a map the contract does not have."""
        if name == "merchants" and isinstance(key, StandardPrincipal | ContractPrincipal):
            merchant = self.merchants.get(_text(key))
            # stored as registered: `active` true, `total-processed` u0
            return (
                NONE
                if merchant is None
                else Some(merchant.to_clarity(active=True, total_processed=0))
            )
        if name == "signed-intents" and isinstance(key, StringAscii):
            intent = self.intents.get(key.text)
            return NONE if intent is None else Some(intent.to_clarity())
        if name == "merchant-totals" and isinstance(key, StandardPrincipal | ContractPrincipal):
            totals = self.totals.get(_text(key))
            return NONE if totals is None else Some(totals.to_clarity())
        if name in ("merchants", "signed-intents", "merchant-totals", "payment-intents"):
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
    """The `get-terms-hash` tuple for (intent-id merchant amount fee expires-at token)."""
    intent_id, merchant, amount, fee, expires_at, token = args[:6]
    return Tuple(
        {
            "amount": amount,
            "chain-id": UInt(state.chain_id),
            "contract": principal(state.contract_id),
            "expires-at": expires_at,
            "fee": fee,
            "intent-id": intent_id,
            "merchant": merchant,
            "token": token,
        }
    )


def _verify(state: ContractState, args: Sequence[ClarityValue], height: int) -> bool:
    """`verify-intent-signature`: the gateway key, or during an overlap the key it replaced."""
    signature = args[6]
    assert isinstance(signature, Buffer)
    keys = [state.gateway_pubkey]
    if height < state.previous_key_until:
        keys.append(state.previous_pubkey)
    for key in keys:
        try:
            if verify_terms(_terms(state, args), signature.data, key):
                return True
        except Exception:  # an unset or malformed key verifies nothing, as secp256k1-verify
            continue
    return False


def _paid_fields(call: Call, fee: int) -> tuple[str | None, bool]:
    """`paid-fields`: who the fee belongs to, fixed at payment, and whether the contract holds
    it (the payer is the fee recipient)."""
    recipient = call.state.fee_recipient
    return (recipient if fee > 0 else None), (fee > 0 and call.sender == recipient)


def pay_signed_intent(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    token, intent_id_v, merchant_v, amount_v, fee_v, expires_v, signature = args
    state = call.state
    intent_id, merchant = _text(intent_id_v), _text(merchant_v)
    amount, fee, expires_at = _uint(amount_v), _uint(fee_v), _uint(expires_v)
    call.check(not state.paused, ERR_PAUSED)
    call.check_token(token)  # token-accepted (no token change is modelled)
    existing = state.intents.get(intent_id)  # check-signed-id-unused
    if existing is not None:
        raise Abort(ERR_CANCELLED if existing.status == "cancelled" else ERR_ALREADY_PAID)
    call.check(len(intent_id) > 0, ERR_INVALID_ID)
    call.check(amount > 0, ERR_INVALID_AMOUNT)
    call.check(fee * BPS <= amount * state.fee_cap_bps, ERR_INVALID_FEE)
    call.check(call.height < expires_at, ERR_EXPIRED)
    terms = [intent_id_v, merchant_v, amount_v, fee_v, expires_v, token, signature]
    call.check(_verify(state, terms, call.height), ERR_BAD_SIGNATURE)
    call.check(merchant not in state.suspended, ERR_MERCHANT_INACTIVE)  # check-payee
    call.check(call.sender != merchant, ERR_SELF_PAYMENT)
    recipient, held = _paid_fields(call, fee)
    # state first, then the token's calls
    state.intents[intent_id] = IntentRecord(
        merchant=merchant,
        amount=amount,
        fee=fee,
        status="paid",
        customer=call.sender,
        created_at=call.height,
        expires_at=expires_at,
        signed=True,
        token=_text(token),
        fee_recipient=recipient,
        fee_held=held,
        paid_at=call.height,
    )
    _settle(call, token, intent_id, merchant, amount, fee)
    return TRUE


def _settle(
    call: Call, token: ClarityValue, intent_id: str, merchant: str, amount: int, fee: int
) -> None:
    state, payer = call.state, call.sender
    recipient, held = _paid_fields(call, fee)
    totals = state.totals.setdefault(merchant, Totals())
    totals.processed += amount
    totals.received += amount - fee
    totals.payments += 1
    token_id = _text(token)
    if held:
        state.fees_held[token_id] = state.held(token_id) + fee
    call.check(state.sbtc.get(payer, 0) >= amount, ERR_UNDERPAID)
    call.transfer(amount - fee, payer, merchant, caller=payer)
    if fee > 0:
        assert recipient is not None
        call.transfer(fee, payer, state.contract_id if held else recipient, caller=payer)
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
        fee_recipient=NONE if recipient is None else Some(principal(recipient)),
        fee_held=Bool(held),
        block=UInt(call.height),
    )


def refund_payment(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    token, payment_id_v, amount_v = args
    state, payment_id, amount = call.state, _text(payment_id_v), _uint(amount_v)
    intent = state.intents.get(payment_id)  # the `let` bindings come first
    call.check(intent is not None, ERR_INTENT_NOT_FOUND)
    assert intent is not None
    payer = intent.customer  # refunded-record
    call.check(payer is not None, ERR_NOT_PAID)
    assert payer is not None
    total = intent.refunded + amount
    call.check(_text(token) == intent.token, ERR_WRONG_TOKEN)
    call.check(call.sender == intent.merchant, ERR_NOT_MERCHANT)
    # (contract-caller = tx-sender: the fake's calls are always direct)
    call.check(amount > 0, ERR_INVALID_REFUND)
    call.check(total <= intent.amount, ERR_REFUND_EXCEEDS)
    intent.refunded = total
    if total == intent.amount:
        intent.status = "refunded"
    call.transfer(amount, call.sender, payer, caller=call.sender)  # send-refund
    call.print(
        event=StringAscii("refund"),
        intent_id=StringAscii(payment_id),
        merchant=principal(call.sender),
        payer=principal(payer),
        amount=UInt(amount),
        total_refunded=UInt(total),
        fully_refunded=Bool(total == intent.amount),
        signed=Bool(intent.signed),
        token=principal(intent.token),
    )
    return UInt(total)


def distribute_fees(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    token, payment_id_v = args
    state, payment_id = call.state, _text(payment_id_v)
    intent = state.intents.get(payment_id)
    call.check(intent is not None, ERR_INTENT_NOT_FOUND)
    assert intent is not None
    call.check(_text(token) == intent.token, ERR_WRONG_TOKEN)  # distributed-record
    call.check(intent.paid_at is not None, ERR_NOT_PAID)
    call.check(intent.fee_held and not intent.fee_distributed, ERR_NO_FEE)
    intent.fee_distributed = True
    fee, recipient = intent.fee, intent.fee_recipient  # pay-out-fee
    assert recipient is not None
    state.fees_held[intent.token] = state.held(intent.token) - fee
    # Under `as-contract?` the contract is the token's caller; its allowance is exactly `fee`,
    # so u127 (allowance exceeded) cannot happen, and the contract always holds its held fees.
    call.transfer(fee, state.contract_id, recipient, caller=state.contract_id)
    call.print(
        event=StringAscii("fees-distributed"),
        intent_id=StringAscii(payment_id),
        merchant=principal(intent.merchant),
        signed=Bool(intent.signed),
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
        token=call.state.sbtc_token,
    )
    call.print(
        event=StringAscii("intent-revoked"),
        intent_id=StringAscii(intent_id),
        by=principal(call.sender),
    )
    return TRUE


def _check_key(call: Call, new_key: ClarityValue) -> bytes:
    assert isinstance(new_key, Buffer)
    data = new_key.data
    call.check(len(data) == 33 and data[:1] in (b"\x02", b"\x03"), ERR_INVALID_KEY)
    return data


def set_gateway_key(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    call.check(call.is_owner(), ERR_NOT_OWNER)
    new_key = _check_key(call, args[0])
    call.print(
        event=StringAscii("gateway-key-rotated"),
        old_key=Buffer(call.state.gateway_pubkey),
        new_key=Buffer(new_key),
        old_key_valid_until=UInt(call.height),
    )
    call.state.previous_pubkey, call.state.previous_key_until = UNSET_KEY, 0
    call.state.gateway_pubkey = new_key
    return TRUE


def rotate_gateway_key(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    call.check(call.is_owner(), ERR_NOT_OWNER)
    new_key = _check_key(call, args[0])
    overlap = _uint(args[1])
    call.check(overlap <= MAX_KEY_OVERLAP, ERR_OVERLAP_TOO_LONG)
    state = call.state
    call.print(
        event=StringAscii("gateway-key-rotated"),
        old_key=Buffer(state.gateway_pubkey),
        new_key=Buffer(new_key),
        old_key_valid_until=UInt(call.height + overlap),
    )
    state.previous_pubkey, state.previous_key_until = state.gateway_pubkey, call.height + overlap
    state.gateway_pubkey = new_key
    return TRUE


def register_merchant(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    data = args[0]
    assert isinstance(data, Tuple)
    name, email = _text(data.fields["name"]), _text(data.fields["email"])
    call.check(not call.state.paused, ERR_PAUSED)
    # check-direct: the fake's calls are always direct
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


def _set_paused(paused: bool, event: str) -> Callable[[Call, Sequence[ClarityValue]], ClarityValue]:
    def run(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
        call.check(call.is_owner(), ERR_NOT_OWNER)
        call.state.paused = paused
        call.print(event=StringAscii(event), by=principal(call.sender))
        return TRUE

    return run


def suspend_merchant(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    call.check(call.is_owner(), ERR_NOT_OWNER)
    merchant = _text(args[0])
    call.state.suspended.add(merchant)
    call.print(
        event=StringAscii("merchant-suspended"),
        merchant=principal(merchant),
        by=principal(call.sender),
    )
    return TRUE


def reinstate_merchant(call: Call, args: Sequence[ClarityValue]) -> ClarityValue:
    call.check(call.is_owner(), ERR_NOT_OWNER)
    merchant = _text(args[0])
    call.state.suspended.discard(merchant)
    call.print(
        event=StringAscii("merchant-reinstated"),
        merchant=principal(merchant),
        by=principal(call.sender),
    )
    return TRUE


_PUBLIC: Mapping[str, Callable[[Call, Sequence[ClarityValue]], ClarityValue]] = {
    "pay-signed-intent": pay_signed_intent,
    "refund-payment": refund_payment,
    "distribute-fees": distribute_fees,
    "revoke-signed-intent": revoke_signed_intent,
    "set-gateway-key": set_gateway_key,
    "rotate-gateway-key": rotate_gateway_key,
    "register-merchant": register_merchant,
    "pause": _set_paused(True, "paused"),
    "unpause": _set_paused(False, "unpaused"),
    "suspend-merchant": suspend_merchant,
    "reinstate-merchant": reinstate_merchant,
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
        return state.config(height)
    if function == "get-merchant":
        return state.merchant(_text(args[0]))
    if function == "get-merchant-totals":
        return state.totals.get(_text(args[0]), Totals()).to_clarity()
    if function == "is-suspended":
        return TRUE if _text(args[0]) in state.suspended else FALSE
    if function == "get-signed-intent":
        intent = state.intents.get(_text(args[0]))
        return NONE if intent is None else Some(intent.to_clarity())
    if function == "get-signed-intent-status":
        intent = state.intents.get(_text(args[0]))
        return StringAscii("unknown" if intent is None else intent.status)
    if function == "get-fees-held":
        return UInt(state.held(_text(args[0])))
    if function == "calculate-fee":
        return UInt(_uint(args[0]) * state.fee_bps // BPS)
    if function == "get-terms-hash":
        return Buffer(terms_hash(_terms(state, args)))
    if function == "verify-intent-signature":
        return TRUE if _verify(state, args, height) else FALSE
    raise KeyError(function)
