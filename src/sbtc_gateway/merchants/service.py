"""Merchant registration, activation, API key issue/rotation and key authentication.

Services take a session and never commit: the caller (request or command) owns the transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.chain.c32 import InvalidAddressError, validate_principal
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.ids import new_id
from sbtc_gateway.core.origin import Origin
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.events import service as events
from sbtc_gateway.merchants import keys, repository
from sbtc_gateway.merchants.models import ApiKey, Merchant
from sbtc_gateway.merchants.schemas import (
    AccountUpdateParams,
    MerchantCreateParams,
    render_account,
)
from sbtc_gateway.merchants.tiers import DEFAULT_TIER

MAX_ROTATION_GRACE = 7 * 24 * 3600


def validate_payout_address(address: str, *, mainnet: bool, param: str) -> str:
    if "." in address:
        raise codes.INVALID_STACKS_ADDRESS(
            param=param,
            message="The payout address must be a standard principal (a wallet), not a contract.",
        )
    try:
        return validate_principal(address, mainnet=mainnet)
    except InvalidAddressError as exc:
        network = "mainnet (SP…)" if mainnet else "testnet (ST…)"
        raise codes.INVALID_STACKS_ADDRESS(param=param, network=network, reason=exc) from None


async def register(
    session: AsyncSession, params: MerchantCreateParams, *, key_secret: str
) -> tuple[Merchant, list[keys.NewKey]]:
    assert params.email is not None
    address = validate_payout_address(params.stacks_address, mainnet=False, param="stacks_address")
    email = params.email.lower()
    if await repository.email_taken(session, email):
        raise codes.EMAIL_IN_USE(param="email")
    merchant = Merchant(
        id=new_id("acct"),
        business_name=params.business_name,
        email=email,
        stacks_address=address,
        tier=(params.tier or DEFAULT_TIER).value,
        status="active",
    )
    session.add(merchant)
    await session.flush()
    issued = [
        _issue(session, merchant.id, key_secret, "secret", livemode=False),
        _issue(session, merchant.id, key_secret, "publishable", livemode=False),
    ]
    return merchant, issued


def _issue(
    session: AsyncSession, merchant_id: str, key_secret: str, kind: str, *, livemode: bool
) -> keys.NewKey:
    new = keys.generate(key_secret, kind, livemode)
    session.add(
        ApiKey(
            id=new_id("key"),
            merchant_id=merchant_id,
            livemode=livemode,
            kind=kind,
            lookup=new.lookup,
            digest=new.digest,
            last4=new.last4,
        )
    )
    return new


async def get(session: AsyncSession, merchant_id: str) -> Merchant:
    merchant = await repository.get(session, merchant_id)
    if merchant is None:
        raise codes.RESOURCE_MISSING(param="id", object="merchant", id=merchant_id)
    return merchant


@dataclass(frozen=True, slots=True)
class MerchantTerms:
    """What creating a PaymentIntent needs to know of its merchant (payout addresses, tier,
    expiry): small, immutable, and cached by the API for at most `SBTC_AUTH_CACHE_SECONDS`
    (dropped on every replica when the account changes)."""

    id: str
    stacks_address: str
    live_stacks_address: str | None
    tier: str
    payment_expiry_seconds: int | None

    def payout(self, livemode: bool) -> str | None:
        """The address a new intent of the mode pays (None: live mode not activated)."""
        return self.live_stacks_address if livemode else self.stacks_address


async def terms(session: AsyncSession, merchant_id: str) -> MerchantTerms:
    row = await repository.terms_row(session, merchant_id)
    if row is None:
        raise codes.RESOURCE_MISSING(param="id", object="merchant", id=merchant_id)
    return MerchantTerms(merchant_id, *row)


async def activate(
    session: AsyncSession, merchant_id: str, live_address: str, *, key_secret: str
) -> tuple[Merchant, list[keys.NewKey]]:
    """Enable live mode: record the mainnet payout address and issue live keys (once)."""
    merchant = await get(session, merchant_id)
    if merchant.live_activated_at is not None:
        raise codes.ACCOUNT_ALREADY_ACTIVATED(merchant=merchant_id)
    merchant.live_stacks_address = validate_payout_address(
        live_address, mainnet=True, param="live_stacks_address"
    )
    merchant.live_activated_at = int(time.time())
    issued = [
        _issue(session, merchant.id, key_secret, "secret", livemode=True),
        _issue(session, merchant.id, key_secret, "publishable", livemode=True),
    ]
    await session.flush()
    return merchant, issued


async def update_account(
    session: AsyncSession,
    merchant_id: str,
    params: AccountUpdateParams,
    *,
    livemode: bool,
    origin: Origin,
) -> Merchant:
    merchant = await get(session, merchant_id)
    fields = params.model_fields_set
    previous = _change_payout(merchant, params)
    if "business_name" in fields:
        if not params.business_name:
            raise codes.PARAMETER_INVALID(
                param="business_name", message="business_name cannot be empty."
            )
        merchant.business_name = params.business_name
    if "payment_expiry_seconds" in fields:
        seconds = params.payment_expiry_seconds
        if seconds is not None and not 60 <= seconds <= 7 * 24 * 3600:
            raise codes.PARAMETER_INVALID(
                param="payment_expiry_seconds",
                message="payment_expiry_seconds must be between 60 and 604800.",
            )
        merchant.payment_expiry_seconds = seconds
    if "logo_url" in fields:
        merchant.logo_url = params.logo_url or None
    if "accent_color" in fields:
        merchant.accent_color = params.accent_color or None
    await session.flush()
    if previous:
        events.record(
            session,
            merchant_id=merchant.id,
            livemode=livemode,
            type="account.updated",
            obj=render_account(merchant, livemode),
            origin=origin,
            previous_attributes=previous,
        )
    return merchant


def _change_payout(merchant: Merchant, params: AccountUpdateParams) -> dict[str, Any]:
    """Validate and apply payout-address changes; returns the previous values that changed.

    Intents confirmed from now on pay the new address (their signed terms name it); intents
    already confirmed keep the address they were signed for. The new address needs no step on
    chain: the gateway's signature names it (the contract's owner can still suspend it).
    """
    previous: dict[str, Any] = {}
    fields = params.model_fields_set
    if "stacks_address" in fields:
        if not params.stacks_address:
            raise codes.PARAMETER_INVALID(
                param="stacks_address", message="stacks_address cannot be empty."
            )
        address = validate_payout_address(
            params.stacks_address, mainnet=False, param="stacks_address"
        )
        if address != merchant.stacks_address:
            previous["stacks_address"] = merchant.stacks_address
            merchant.stacks_address = address
    if "live_stacks_address" in fields:
        if merchant.live_activated_at is None:
            raise codes.PARAMETER_INVALID(
                param="live_stacks_address",
                message="Live mode is not activated for this account; its live payout address "
                "is set at activation.",
            )
        if not params.live_stacks_address:
            raise codes.PARAMETER_INVALID(
                param="live_stacks_address", message="live_stacks_address cannot be empty."
            )
        address = validate_payout_address(
            params.live_stacks_address, mainnet=True, param="live_stacks_address"
        )
        if address != merchant.live_stacks_address:
            previous["live_stacks_address"] = merchant.live_stacks_address
            merchant.live_stacks_address = address
    return previous


async def rotate_secret_key(
    session: AsyncSession,
    caller: AuthenticatedKey,
    *,
    expires_in: int | None,
    default_grace: int,
    key_secret: str,
) -> keys.NewKey:
    grace = default_grace if expires_in is None else expires_in
    if not 0 <= grace <= MAX_ROTATION_GRACE:
        raise codes.PARAMETER_INVALID(
            param="expires_in",
            message=f"expires_in must be between 0 and {MAX_ROTATION_GRACE} seconds.",
        )
    old = await repository.lock_key(session, caller.api_key_id)
    if old is None or old.revoked_at is not None:
        raise codes.API_KEY_ALREADY_ROTATED()
    now = int(time.time())
    expiry = now + grace
    old.expires_at = expiry if old.expires_at is None else min(old.expires_at, expiry)
    if grace == 0:
        old.revoked_at = now
    new = _issue(session, caller.merchant_id, key_secret, "secret", livemode=caller.livemode)
    await session.flush()
    return new


async def current_secret_key_id(
    session: AsyncSession, merchant_id: str, livemode: bool
) -> str | None:
    """The newest secret key of a mode that has not been rotated yet (what a dashboard user
    rotates: it has no key of its own)."""
    return await repository.current_secret_key_id(session, merchant_id, livemode)


async def authenticate(
    session: AsyncSession, parsed: keys.ParsedKey, candidate_digest: str
) -> AuthenticatedKey | None:
    """Find the stored key for a presented one; None if unknown, revoked or expired."""
    now = int(time.time())
    for api_key, merchant_status, tier in await repository.keys_by_lookup(session, parsed.lookup):
        if not keys.matches(api_key.digest, candidate_digest):
            continue
        if api_key.kind != parsed.kind or api_key.livemode != parsed.livemode:
            return None
        if api_key.revoked_at is not None and api_key.revoked_at <= now:
            return None
        if api_key.expires_at is not None and api_key.expires_at <= now:
            return None
        if merchant_status != "active":
            return None
        return AuthenticatedKey(
            api_key_id=api_key.id,
            merchant_id=api_key.merchant_id,
            livemode=api_key.livemode,
            kind=api_key.kind,
            expires_at=api_key.expires_at,
            tier=tier,
        )
    return None
