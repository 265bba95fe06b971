"""Reading what the chain says: contract calls, their Clarity arguments, print events, errors.

Pure functions over the Stacks API's transaction objects (no database, no network).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sbtc_gateway.chain import (
    NONE,
    Bool,
    ContractPrincipal,
    Int,
    Ok,
    Some,
    StandardPrincipal,
    StringAscii,
    StringUtf8,
    TransactionInfo,
    Tuple,
    UInt,
    deserialize,
)
from sbtc_gateway.chain.clarity import ClarityValue

# The gateway's intents are paid with `pay-signed-intent` only: `process-payment` pays a
# merchant's own on-chain intent, in another namespace of the contract, whatever its id.
PAY_FUNCTIONS = frozenset({"pay-signed-intent"})
REFUND_FUNCTION = "refund-payment"
FEES_FUNCTION = "distribute-fees"
# event_index of transaction-level facts: a mempool sighting and an abort of the same
# transaction are two facts, so they must not share an inbox key.
TX_LEVEL = -1  # a mempool sighting (and other transaction-level facts)
TX_ABORT = -2
# Added to a print event's body in the inbox: the contract that printed it (no print key can
# collide: Clarity names cannot start with "@").
CONTRACT_KEY = "@contract"

# Contract error codes worth naming in `last_payment_error` (contract header, ERROR CODES).
CONTRACT_ERRORS: Mapping[int, tuple[str, str]] = {
    102: ("gateway_paused", "The payment contract is paused."),
    103: ("wrong_token", "The payment was made with a token other than sBTC."),
    106: ("merchant_inactive", "The merchant's payout address is suspended on chain."),
    107: ("intent_already_used", "This intent id was already used on chain."),
    109: ("already_paid", "This PaymentIntent was already paid."),
    110: ("payment_expired", "The payment arrived after the intent's expiry height."),
    111: ("intent_revoked", "The signed intent was revoked."),
    113: ("invalid_fee", "The fee is above the contract's cap."),
    114: ("bad_signature", "The payment's signed terms did not verify."),
    115: ("insufficient_funds", "The payer's sBTC balance is below the amount."),
    124: ("self_payment", "The payer is the merchant."),
}


def py(value: ClarityValue | None) -> Any:
    """A Clarity value as plain Python (ints, strings, principals as text, tuples as dicts)."""
    if isinstance(value, UInt | Int):
        return value.value
    if isinstance(value, StringAscii | StringUtf8):
        return value.text
    if isinstance(value, Bool):
        return value.value
    if isinstance(value, StandardPrincipal):
        return value.address
    if isinstance(value, ContractPrincipal):
        return value.contract_id
    if isinstance(value, Tuple):
        return {k: py(v) for k, v in value.fields.items()}
    if isinstance(value, Some | Ok):
        return py(value.value)
    if value is NONE:
        return None
    return None if value is None else repr(value)


def contract_call(tx: TransactionInfo) -> Mapping[str, Any] | None:
    call = tx.raw.get("contract_call")
    return call if isinstance(call, Mapping) else None


def call_args(call: Mapping[str, Any]) -> list[Any]:
    out: list[Any] = []
    for arg in call.get("function_args") or ():
        try:
            out.append(py(deserialize(bytes.fromhex(str(arg.get("hex", "")).removeprefix("0x")))))
        except Exception:  # an argument we cannot decode is simply unknown
            out.append(None)
    return out


def intent_id_of(call: Mapping[str, Any]) -> str | None:
    """The intent id a payment call names (its second argument, after the token)."""
    args = call_args(call)
    if call.get("function_name") in PAY_FUNCTIONS and len(args) >= 2:
        value = args[1]
        return value if isinstance(value, str) else None
    return None


def error_code(tx: TransactionInfo) -> int | None:
    """`(err uN)` of an aborted call, from `tx_result.repr`."""
    text = tx.tx_result_repr or ""
    if text.startswith("(err u"):
        try:
            return int(text.removeprefix("(err u").rstrip(")"))
        except ValueError:
            return None
    return None


def intent_id_of_fee_call(call: Mapping[str, Any]) -> str | None:
    args = call_args(call)
    return args[1] if len(args) > 1 and isinstance(args[1], str) else None


def print_events(
    tx: TransactionInfo, contract_id: str, name: str
) -> list[tuple[int, dict[str, Any]]]:
    """(event index, body) of the contract's print events named `name` in a transaction."""
    found = []
    for event in tx.events:
        if event.event_type != "smart_contract_log" or event.contract_id != contract_id:
            continue
        body = py(event.value)
        if isinstance(body, dict) and body.get("event") == name:
            found.append((event.event_index, body))
    return found
