from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, field_validator

from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.params import (
    OptInt,
    OptStr,
    Params,
    ParamValueError,
    Text,
    email_value,
)
from sbtc_gateway.merchants import keys
from sbtc_gateway.merchants.keys import NewKey
from sbtc_gateway.merchants.models import Merchant
from sbtc_gateway.merchants.tiers import FEE_BASIS_POINTS, Tier

# Column sizes: business_name String(255), email String(255), addresses String(64).
BUSINESS_NAME = Text(255)
ADDRESS = Text(64)


class MerchantCreateParams(Params):
    business_name: Annotated[str, BUSINESS_NAME]
    email: Annotated[str, BeforeValidator(email_value), Text(254)]
    stacks_address: Annotated[str, ADDRESS]
    tier: Tier | None = None
    # The dashboard owner's password (the user's email is the merchant's); optional.
    password: OptStr = None
    expand: list[str] | None = None

    @field_validator("business_name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not 1 <= len(value) <= 255:
            raise ParamValueError(
                codes.PARAMETER_INVALID, message="business_name must be 1 to 255 characters."
            )
        return value


def _logo_url(value: object) -> object:
    if isinstance(value, str) and value and not value.startswith(("https://", "http://")):
        raise ParamValueError(
            codes.PARAMETER_INVALID, message="logo_url must be an https:// (or http://) URL."
        )
    return value


def _accent_color(value: object) -> object:
    if isinstance(value, str) and value:
        hexdigits = value.removeprefix("#")
        if not (value.startswith("#") and len(hexdigits) == 6 and _is_hex(hexdigits)):
            raise ParamValueError(
                codes.PARAMETER_INVALID,
                message="accent_color must be a colour as #rrggbb (e.g. #f7931a).",
            )
        return value.lower()
    return value


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


# The checkout shows the logo from the merchant's own host (an <img>): the one thing on the
# page that may come from elsewhere, chosen by the merchant.
LogoUrl = Annotated[str | None, Text(500), BeforeValidator(_logo_url)]
AccentColor = Annotated[str | None, Text(7), BeforeValidator(_accent_color)]


class AccountUpdateParams(Params):
    business_name: Annotated[str | None, BUSINESS_NAME] = None
    # Branding of the hosted checkout, the widget and receipts; an empty value removes it.
    logo_url: LogoUrl = None
    accent_color: AccentColor = None
    payment_expiry_seconds: OptInt = None
    # Payout addresses: a sensitive change (signed request with an API key, see
    # docs/request-signing.md); an `account.updated` event records the previous value.
    stacks_address: Annotated[str | None, ADDRESS] = None
    live_stacks_address: Annotated[str | None, ADDRESS] = None
    expand: list[str] | None = None

    @property
    def changes_payout(self) -> bool:
        return bool({"stacks_address", "live_stacks_address"} & self.model_fields_set)


class ApiKeyRotateParams(Params):
    expires_in: OptInt = None
    expand: list[str] | None = None


def render_account(merchant: Merchant, livemode: bool) -> dict[str, Any]:
    return {
        "id": merchant.id,
        "object": "account",
        "business_name": merchant.business_name,
        "email": merchant.email,
        "stacks_address": merchant.stacks_address,
        "live_stacks_address": merchant.live_stacks_address,
        "tier": merchant.tier,
        "fee_basis_points": FEE_BASIS_POINTS[Tier(merchant.tier)],
        "status": merchant.status,
        "live_activated": merchant.live_activated_at is not None,
        "payment_expiry_seconds": merchant.payment_expiry_seconds,
        "logo_url": merchant.logo_url,
        "accent_color": merchant.accent_color,
        "livemode": livemode,
        "created": merchant.created,
    }


KeyKind = Literal["secret", "publishable"]


def with_keys(body: dict[str, Any], issued: list[NewKey], key_secret: str) -> dict[str, Any]:
    """A sign-up or activation answer: the account with its new keys and the secret key's
    request-signing secret, all shown this once."""
    for new in issued:
        body[f"{new.kind}_key"] = new.plaintext
        if new.kind == "secret":
            body["signing_secret"] = keys.signing_secret(key_secret, new.digest)
    return body
