"""The on-chain side of a PaymentIntent: the signed terms and the wallet's contract call.

`contract_call()` builds `next_action.sbtc_contract_call`, exactly what `@stacks/connect`'s
`stx_callContract` takes: the gateway signs the terms tuple of `pay-signed-intent` (see the
header of `contracts/contracts/sbtc-payment-gateway.clar`), and the call carries every argument
as Clarity hex, in order, with one deny-mode post-condition: the payer sends exactly `amount`
sBTC (the payer's address when known at confirm, else the transaction's origin).

`ChainTips` answers what confirm reads of the chain before its transaction opens, each cached
briefly: the current Stacks tip height per network (so the on-chain expiry height covers the
intent's remaining lifetime), and the contract's state a payment depends on (`ContractFacts`:
paused, the gateway keys it accepts; whether a payee is on its deny list).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sbtc_gateway.chain import (
    Bool,
    Buffer,
    ChainSource,
    PrivateKey,
    Some,
    StacksApiClient,
    StacksApiError,
    StringAscii,
    Tuple,
    UInt,
    ft_post_condition,
    get_network,
    principal,
    sign_terms,
)
from sbtc_gateway.chain.api_types import Balances
from sbtc_gateway.chain.clarity import ClarityValue
from sbtc_gateway.chain.networks import Network
from sbtc_gateway.core import error_codes as codes

PAY_FUNCTION = "pay-signed-intent"
REFUND_FUNCTION = "refund-payment"


def terms_tuple(
    *,
    intent_id: str,
    merchant: str,
    amount: int,
    fee: int,
    expires_at: int,
    chain_id: int,
    contract_id: str,
    token: str,
) -> Tuple:
    """The terms tuple `pay-signed-intent` verifies (keys and types as the contract header):
    the token is signed too, so an intent is paid and refunded in the token it was made for."""
    return Tuple(
        {
            "amount": UInt(amount),
            "chain-id": UInt(chain_id),
            "contract": principal(contract_id),
            "expires-at": UInt(expires_at),
            "fee": UInt(fee),
            "intent-id": StringAscii(intent_id),
            "merchant": principal(merchant),
            "token": principal(token),
        }
    )


def blocks_for(seconds: float, block_time_seconds: float) -> int:
    """How many Stacks blocks cover `seconds` at the configured average block time (≥ 1)."""
    return max(1, math.ceil(max(0.0, seconds) / block_time_seconds))


def wallet_call(
    *,
    network: Network,
    contract_id: str,
    function: str,
    args: list[tuple[str, ClarityValue]],
    payer: str | None,
    recipient: str | None,
    intent_id: str,
    amount: int,
    fee: int,
    expires_at_block: int | None,
) -> dict[str, Any]:
    """What a wallet signs (`@stacks/connect`'s `stx_callContract` takes it as it is): one shape
    for a payment and for a refund, so one wallet routine serves both. Deny mode with one
    post-condition: `payer` (the transaction's origin when unknown) sends exactly `amount`."""
    pc = ft_post_condition(payer or "origin", "eq", amount, network.sbtc_asset_id)
    address, name = contract_id.split(".", 1)
    return {
        "network": network.name,
        "contract_id": contract_id,
        "contract_address": address,
        "contract_name": name,
        "function_name": function,
        "function_args": [value.to_hex() for _, value in args],
        "function_args_repr": [f"{arg}: {value!r}" for arg, value in args],
        "post_conditions": [pc.to_hex()],
        "post_condition_mode": "deny",
        "expires_at_block": expires_at_block,
        "token_contract_id": network.sbtc_token,
        "intent_id": intent_id,
        "amount": amount,
        "fee": fee,
        "recipient": recipient,
        "payer": payer,
    }


def contract_call(
    *,
    network: Network,
    contract_id: str,
    key: PrivateKey,
    intent_id: str,
    merchant: str,
    payer: str | None,
    amount: int,
    fee: int,
    expires_at_block: int,
) -> dict[str, Any]:
    """`next_action.sbtc_contract_call` for one intent (signed with the gateway's key)."""
    terms = terms_tuple(
        intent_id=intent_id,
        merchant=merchant,
        amount=amount,
        fee=fee,
        expires_at=expires_at_block,
        chain_id=network.chain_id,
        contract_id=contract_id,
        token=network.sbtc_token,
    )
    signature = sign_terms(terms, key)
    args: list[tuple[str, ClarityValue]] = [
        ("token", principal(network.sbtc_token)),
        ("intent-id", StringAscii(intent_id)),
        ("merchant", principal(merchant)),
        ("amount", UInt(amount)),
        ("fee", UInt(fee)),
        ("expires-at", UInt(expires_at_block)),
        ("signature", Buffer(signature)),
    ]
    call = wallet_call(
        network=network,
        contract_id=contract_id,
        function=PAY_FUNCTION,
        args=args,
        payer=payer,
        recipient=merchant,
        intent_id=intent_id,
        amount=amount,
        fee=fee,
        expires_at_block=expires_at_block,
    )
    call["gateway_public_key"] = "0x" + key.public_key.hex()
    return call


def refund_call(
    *,
    network: Network,
    contract_id: str,
    intent_id: str,
    merchant: str,
    payer: str | None,
    amount: int,
) -> dict[str, Any]:
    """The merchant wallet's `refund-payment`: the merchant sends `amount` back to the payer."""
    args: list[tuple[str, ClarityValue]] = [
        ("token", principal(network.sbtc_token)),
        ("payment-id", StringAscii(intent_id)),
        ("amount", UInt(amount)),
    ]
    return wallet_call(
        network=network,
        contract_id=contract_id,
        function=REFUND_FUNCTION,
        args=args,
        payer=merchant,
        recipient=payer,
        intent_id=intent_id,
        amount=amount,
        fee=0,
        expires_at_block=None,
    )


def client_secret(key: bytes, intent_id: str) -> str:
    """The intent's client secret, derived from the server's key: never stored, so neither the
    database nor a cache holds it; the same every time it is rendered."""
    mac = hmac.new(key, b"client_secret:" + intent_id.encode(), hashlib.sha256).digest()
    return f"{intent_id}_secret_{base64.urlsafe_b64encode(mac).decode()[:24]}"


@dataclass(frozen=True, slots=True)
class ContractFacts:
    """What a payment contract says right now that decides whether a signed intent can pay."""

    paused: bool
    gateway_key: bytes
    # The key a planned rotation replaced, and the height below which it still verifies.
    previous_key: bytes | None
    previous_key_until: int

    def key_status(self, own: bytes) -> tuple[bool, int | None]:
        """(whether terms signed with `own` verify, the height they stop verifying at, if
        any): the current key always, the replaced one until its overlap ends."""
        if own == self.gateway_key:
            return True, None
        if self.previous_key is not None and own == self.previous_key:
            return True, self.previous_key_until
        return False, None


def _field(record: ClarityValue, name: str) -> ClarityValue | None:
    return record.fields.get(name) if isinstance(record, Tuple) else None


def contract_facts(config: ClarityValue) -> ContractFacts:
    """`ContractFacts` from the contract's `get-config` tuple."""
    paused = _field(config, "paused")
    key = _field(config, "gateway-pubkey")
    previous = _field(config, "previous-gateway-pubkey")
    until = _field(config, "previous-key-valid-until")
    if not isinstance(paused, Bool) or not isinstance(key, Buffer):
        raise codes.CHAIN_UNAVAILABLE()
    previous_key = previous.value if isinstance(previous, Some) else None
    return ContractFacts(
        paused=paused.value,
        gateway_key=key.data,
        previous_key=previous_key.data if isinstance(previous_key, Buffer) else None,
        previous_key_until=until.value if isinstance(until, UInt) else 0,
    )


@dataclass
class ChainTips:
    """The Stacks tip height per network, and the facts of a payment contract a confirmation
    depends on, from the Stacks API, each cached `max_age` seconds."""

    api_urls: Mapping[str, str]
    max_age: float = 2.0
    timeout: float = 5.0
    _clients: dict[str, StacksApiClient] = field(default_factory=dict)
    _cache: dict[str, tuple[float, int]] = field(default_factory=dict)
    _facts: dict[tuple[str, str], tuple[float, ContractFacts]] = field(default_factory=dict)
    _suspended: dict[tuple[str, str, str], tuple[float, bool]] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def client(self, network: str) -> ChainSource:
        if network not in self._clients:
            from sbtc_gateway.chain import RetryPolicy

            self._clients[network] = StacksApiClient(
                self.api_urls[network], timeout=self.timeout, retry=RetryPolicy(attempts=2)
            )
        return self._clients[network]

    async def height(self, network: str) -> int:
        cached = self._cache.get(network)
        if cached and time.monotonic() - cached[0] < self.max_age:
            return cached[1]
        async with self._lock:
            try:
                info = await self.client(network).get_info()
            except StacksApiError as exc:
                raise codes.CHAIN_UNAVAILABLE() from exc
            self._cache[network] = (time.monotonic(), info.stacks_tip_height)
            return info.stacks_tip_height

    async def balances(self, network: str, principal: str) -> Balances:
        """A principal's STX and token balances on `network` (not cached: the checkout asks
        once, before the wallet opens)."""
        self.client(network)
        return await self._clients[network].get_balances(principal)

    async def contract(self, network: str, contract_id: str) -> ContractFacts:
        """The contract's pause flag and gateway keys (`get-config`)."""
        key = (network, contract_id)
        cached = self._facts.get(key)
        if cached and time.monotonic() - cached[0] < self.max_age:
            return cached[1]
        try:
            config = await self.client(network).call_read_only(contract_id, "get-config", [])
        except StacksApiError as exc:
            raise codes.CHAIN_UNAVAILABLE() from exc
        facts = contract_facts(config)
        self._facts[key] = (time.monotonic(), facts)
        return facts

    async def suspended(self, network: str, contract_id: str, payee: str) -> bool:
        """Whether the contract's owner has put `payee` on its deny list (`is-suspended`)."""
        key = (network, contract_id, payee)
        cached = self._suspended.get(key)
        if cached and time.monotonic() - cached[0] < self.max_age:
            return cached[1]
        try:
            value = await self.client(network).call_read_only(
                contract_id, "is-suspended", [principal(payee)]
            )
        except StacksApiError as exc:
            raise codes.CHAIN_UNAVAILABLE() from exc
        if not isinstance(value, Bool):
            raise codes.CHAIN_UNAVAILABLE()
        self._suspended[key] = (time.monotonic(), value.value)
        return value.value

    def forget(self) -> None:
        self._cache.clear()
        self._facts.clear()
        self._suspended.clear()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def network_for(name: str) -> Network:
    return get_network(name)
