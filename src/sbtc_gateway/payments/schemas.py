"""PaymentIntent request parameters and the response object."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from sbtc_gateway.core.params import (
    Email,
    EmptyIsMissing,
    Metadata,
    OptBool,
    OptId,
    OptInt,
    OptStr,
    OptTimestamp,
    Params,
    RangeFilter,
    ReqInt,
    ReqStr,
    StrList,
    Text,
)
from sbtc_gateway.payments.models import PaymentIntent

# Stripe's limit for a PaymentIntent's description (most of its strings allow 5000).
Description = Annotated[str | None, Text(1000)]


class SbtcPaymentMethodData(Params):
    payer: Annotated[str | None, Text(64)] = None  # a Stacks principal; String(64)


class PaymentMethodData(Params):
    type: Literal["sbtc"]
    sbtc: SbtcPaymentMethodData | None = None


class _Common(Params):
    expand: StrList = []


class PaymentIntentCreateParams(_Common):
    amount: ReqInt
    currency: Annotated[Literal["sbtc"], EmptyIsMissing]
    description: Description = None
    metadata: Metadata = None
    receipt_email: Email = None
    confirm: OptBool = None
    capture_method: Literal["automatic"] | None = None
    confirmation_method: Literal["automatic", "manual"] | None = None
    payment_method_types: StrList = []
    payment_method_data: PaymentMethodData | None = None
    return_url: OptStr = None


class PaymentIntentUpdateParams(_Common):
    amount: OptInt = None
    currency: Literal["sbtc"] | None = None
    description: Description = None
    metadata: Metadata = None
    receipt_email: Email = None
    payment_method_types: StrList = []
    payment_method_data: PaymentMethodData | None = None


class PaymentIntentConfirmParams(_Common):
    client_secret: OptStr = None  # compared, never stored: a wrong one is the usual 404
    payment_method_data: PaymentMethodData | None = None
    payment_method_types: StrList = []
    receipt_email: Email = None
    return_url: OptStr = None


class PaymentIntentCancelParams(_Common):
    cancellation_reason: (
        Literal["duplicate", "fraudulent", "requested_by_customer", "abandoned"] | None
    ) = None


class RetrieveParams(_Common):
    client_secret: OptStr = None  # compared, never stored: a wrong one is the usual 404


class ListParams(_Common):
    limit: OptInt = None
    starting_after: OptId = None
    ending_before: OptId = None
    created: RangeFilter | OptTimestamp = None
    customer: OptId = None


class SearchParams(_Common):
    query: ReqStr
    limit: OptInt = None
    page: OptId = None


# Fields a publishable key (a browser) may see; everything else is null for it.
PUBLISHABLE_FIELDS = frozenset(
    {
        "id",
        "object",
        "amount",
        "amount_received",
        "canceled_at",
        "cancellation_reason",
        "capture_method",
        "client_secret",
        "confirmation_method",
        "created",
        "currency",
        "description",
        "expires_at",
        "last_payment_error",
        "livemode",
        "next_action",
        "payment_method_types",
        "receipt_email",
        "status",
        "sbtc",
    }
)


PAYMENT_INTENT_FIELDS = (
    "id", "object", "amount", "amount_capturable", "amount_details", "amount_received",
    "application", "application_fee_amount", "automatic_payment_methods", "canceled_at",
    "cancellation_reason", "capture_method", "client_secret", "confirmation_method", "created",
    "currency", "customer", "description", "expires_at", "invoice", "last_payment_error",
    "latest_charge", "livemode", "metadata", "next_action", "on_behalf_of", "payment_method",
    "payment_method_configuration_details", "payment_method_options", "payment_method_types",
    "processing", "receipt_email", "review", "sbtc", "setup_future_usage", "shipping", "source",
    "statement_descriptor", "statement_descriptor_suffix", "status", "transfer_data",
    "transfer_group",
)  # fmt: skip


def render_payment_intent(pi: PaymentIntent, *, publishable: bool = False) -> dict[str, Any]:
    """The stored form: what events and the cache hold, without credentials (`views.present`
    adds the client secret and the signed contract call for an API response)."""
    obj: dict[str, Any] = {
        "id": pi.id,
        "object": "payment_intent",
        "amount": pi.amount,
        "amount_capturable": 0,
        "amount_details": None,
        "amount_received": pi.amount_received,
        "application": None,
        "application_fee_amount": pi.application_fee_amount,
        "automatic_payment_methods": None,
        "canceled_at": pi.canceled_at,
        "cancellation_reason": pi.cancellation_reason,
        "capture_method": "automatic",
        "client_secret": None,  # derived when shown (views.present), never stored
        "confirmation_method": "automatic",
        "created": pi.created,
        "currency": pi.currency,
        "customer": None,
        "description": pi.description,
        "expires_at": pi.expires_at,
        "invoice": None,
        "last_payment_error": pi.last_payment_error,
        "latest_charge": pi.latest_charge_id,
        "livemode": pi.livemode,
        "metadata": dict(pi.metadata_ or {}),
        "next_action": pi.next_action,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["sbtc"],
        "processing": None,
        "receipt_email": pi.receipt_email,
        "review": None,
        "sbtc": {
            "payer": pi.payer,
            "payout_address": pi.payout_address,
            "fee_basis_points": pi.fee_basis_points,
            "txid": pi.txid,
            "expires_at_block": pi.expires_at_block,
            "block_height": pi.block_height,
            "block_hash": pi.block_hash,
            "fee_status": pi.fee_status,
            "fee_txid": pi.fee_txid,
            "amount_refunded": pi.amount_refunded,
            "late_payment": pi.late_payment,
            "contract_id": pi.contract_id,
        },
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": pi.status,
        "transfer_data": None,
        "transfer_group": None,
    }
    return publishable_view(obj) if publishable else obj


def publishable_view(obj: dict[str, Any]) -> dict[str, Any]:
    """What a publishable key sees of a rendered intent."""
    return {k: (v if k in PUBLISHABLE_FIELDS else None) for k, v in obj.items()}
