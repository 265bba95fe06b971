"""The checkout's view of an intent, its receipt and a payer's balances. Takes a session,
never commits; the chain is read outside any session (no network call in a transaction)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.chain import StacksApiError
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.errors import GatewayError
from sbtc_gateway.core.money import format_btc
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.merchants import service as merchants
from sbtc_gateway.merchants.models import Merchant
from sbtc_gateway.merchants.service import validate_payout_address
from sbtc_gateway.payments import onchain, repository
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.payments.schemas import render_payment_intent
from sbtc_gateway.payments.service import PaymentSettings
from sbtc_gateway.payments.state import Status
from sbtc_gateway.payments.views import present

# What a contract call typically costs its sender in fees (µSTX): the STX side of the check
# before the wallet opens. Wallets pick their own fee; this is a floor worth warning below.
TYPICAL_CALL_FEE_USTX = 3_000

_EXPLORER = "https://explorer.hiro.so/txid/{txid}?chain={chain}"


def explorer_url(network: str, txid: str | None) -> str | None:
    """A public explorer's page of the transaction (none for a local devnet)."""
    if txid is None or network not in ("testnet", "mainnet"):
        return None
    return _EXPLORER.format(txid="0x" + txid.removeprefix("0x"), chain=network)


@dataclass(frozen=True, slots=True)
class Loaded:
    intent: PaymentIntent
    merchant: Merchant


async def load(session: AsyncSession, caller: AuthenticatedKey, intent_id: str) -> Loaded:
    pi = await repository.get(session, caller.merchant_id, caller.livemode, intent_id)
    if pi is None:
        raise codes.RESOURCE_MISSING(param="intent", object="payment_intent", id=intent_id)
    return Loaded(pi, await merchants.get(session, caller.merchant_id))


async def tip_height(cfg: PaymentSettings, livemode: bool) -> int | None:
    """The network's tip (cached briefly), or None when the Stacks API cannot say: the page
    then counts down by time alone."""
    if cfg.tips is None:
        return None
    try:
        return await cfg.tips.height(cfg.network(livemode))
    except GatewayError:
        return None


def time_left(pi: PaymentIntent, cfg: PaymentSettings, tip: int | None, now: int) -> dict[str, Any]:
    """The server's word on how long the intent can still be paid: the earlier of its
    `expires_at` and, once confirmed, its signed expiry height at the average block time."""
    seconds = max(0, pi.expires_at - now)
    blocks: int | None = None
    if pi.expires_at_block is not None and tip is not None:
        blocks = max(0, pi.expires_at_block - tip)
        seconds = min(seconds, int(blocks * cfg.block_time_seconds))
    return {
        "expires_at": pi.expires_at,
        "expires_at_block": pi.expires_at_block,
        "tip_height": tip,
        "blocks": blocks,
        "seconds": seconds,
    }


def render_merchant(merchant: Merchant) -> dict[str, Any]:
    return {
        "business_name": merchant.business_name,
        "logo_url": merchant.logo_url,
        "accent_color": merchant.accent_color,
    }


def render_receipt(pi: PaymentIntent, merchant: Merchant, network: str) -> dict[str, Any] | None:
    """A succeeded payment's receipt (a late payment is not one: the merchant owes a refund)."""
    if pi.status != Status.SUCCEEDED:
        return None
    return {
        "object": "receipt",
        "payment_intent": pi.id,
        "livemode": pi.livemode,
        "merchant": render_merchant(merchant),
        "description": pi.description,
        "amount": pi.amount_received or pi.amount,
        "amount_sbtc": format_btc(pi.amount_received or pi.amount),
        "currency": pi.currency,
        "payer": pi.payer,
        "txid": pi.txid,
        "block_height": pi.block_height,
        "paid_at": pi.succeeded_at or pi.updated,
        "network": network,
        "explorer_url": explorer_url(network, pi.txid),
    }


def render_checkout(
    loaded: Loaded, cfg: PaymentSettings, tip: int | None, *, publishable: bool
) -> dict[str, Any]:
    pi, merchant = loaded.intent, loaded.merchant
    network = cfg.network(pi.livemode)
    now = int(time.time())
    shown = present(render_payment_intent(pi), cfg, publishable=publishable)
    shown["amount_sbtc"] = format_btc(pi.amount)
    return {
        "object": "checkout",
        "livemode": pi.livemode,
        "now": now,
        "payment_intent": shown,
        "merchant": render_merchant(merchant),
        "network": {
            "name": network,
            "block_time_seconds": cfg.block_time_seconds,
            "explorer_url": explorer_url(network, pi.txid),
        },
        "time_left": time_left(pi, cfg, tip, now),
        "return_url": pi.return_url,
        "receipt": render_receipt(pi, merchant, network),
    }


async def payer_balance(
    cfg: PaymentSettings, livemode: bool, payer: str, amount: int
) -> dict[str, Any]:
    """The payer's sBTC and STX, read from the network's Stacks API (outside any session)."""
    address = validate_payout_address(payer, mainnet=livemode, param="payer")
    network = cfg.network(livemode)
    if cfg.tips is None:
        raise codes.PAYMENTS_NOT_CONFIGURED()
    try:
        balances = await cfg.tips.balances(network, address)
    except StacksApiError as exc:
        raise codes.CHAIN_UNAVAILABLE() from exc
    sbtc = balances.token(onchain.network_for(network).sbtc_asset_id)
    stx = balances.stx - balances.stx_locked
    return {
        "object": "payer_balance",
        "payer": address,
        "network": network,
        "sufficient": sbtc >= amount and stx >= TYPICAL_CALL_FEE_USTX,
        "sbtc": {"balance": sbtc, "required": amount, "sufficient": sbtc >= amount},
        "stx": {
            "balance": stx,
            "required": TYPICAL_CALL_FEE_USTX,
            "sufficient": stx >= TYPICAL_CALL_FEE_USTX,
        },
    }
