"""The on-chain side of a PaymentIntent: the signed terms and the wallet's contract call.

`contract_call()` builds `next_action.sbtc_contract_call`, exactly what `@stacks/connect`'s
`stx_callContract` takes: the gateway signs the terms tuple of `pay-signed-intent` (see the
header of `contracts/contracts/sbtc-payment-gateway.clar`), and the call carries every argument
as Clarity hex, in order, with one deny-mode post-condition: the payer sends exactly `amount`
sBTC (the payer's address when known at confirm, else the transaction's origin).

`ChainTips` answers the current Stacks tip height per network (cached briefly), so the on-chain
expiry height covers the intent's remaining lifetime.
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
    Buffer,
    ChainSource,
    PrivateKey,
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
) -> Tuple:
    """The terms tuple `pay-signed-intent` verifies (keys and types as the contract header)."""
    return Tuple(
        {
            "amount": UInt(amount),
            "chain-id": UInt(chain_id),
            "contract": principal(contract_id),
            "expires-at": UInt(expires_at),
            "fee": UInt(fee),
            "intent-id": StringAscii(intent_id),
            "merchant": principal(merchant),
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


@dataclass
class ChainTips:
    """The Stacks tip height per network, from the Stacks API, cached `max_age` seconds."""

    api_urls: Mapping[str, str]
    max_age: float = 2.0
    timeout: float = 5.0
    _clients: dict[str, StacksApiClient] = field(default_factory=dict)
    _cache: dict[str, tuple[float, int]] = field(default_factory=dict)
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

    def forget(self) -> None:
        self._cache.clear()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def network_for(name: str) -> Network:
    return get_network(name)
