"""Refund parameters and the Stripe-shaped Refund object."""

from __future__ import annotations

from typing import Any, Literal

from sbtc_gateway.core.params import Metadata, OptId, OptInt, Params, StrList
from sbtc_gateway.refunds.models import Refund

REFUND_FIELDS = [
    "id", "object", "amount", "balance_transaction", "charge", "created", "currency",
    "destination_details", "failure_balance_transaction", "failure_reason", "metadata",
    "next_action", "payment_intent", "reason", "receipt_number", "status", "sbtc",
]  # fmt: skip


class RefundCreateParams(Params):
    payment_intent: OptId = None
    charge: OptId = None
    amount: OptInt = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    metadata: Metadata = None
    expand: StrList = []


class RefundListParams(Params):
    payment_intent: OptId = None
    charge: OptId = None
    limit: OptInt = None
    starting_after: OptId = None
    ending_before: OptId = None
    expand: StrList = []


class RetrieveParams(Params):
    expand: StrList = []


def render_refund(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "object": "refund",
        "amount": refund.amount,
        "balance_transaction": refund.balance_transaction_id,
        "charge": refund.charge_id,
        "created": refund.created,
        "currency": refund.currency,
        "destination_details": {
            "type": "sbtc",
            "sbtc": {"recipient": refund.destination, "txid": refund.txid},
        },
        "failure_balance_transaction": refund.failure_balance_transaction_id,
        "failure_reason": refund.failure_reason,
        "metadata": dict(refund.metadata_ or {}),
        "next_action": refund.next_action,
        "payment_intent": refund.payment_intent_id,
        "reason": refund.reason,
        "receipt_number": None,
        "status": refund.status,
        "sbtc": {"txid": refund.txid, "reorged_at": refund.reorged_at},
    }
