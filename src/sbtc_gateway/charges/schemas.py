"""Charge parameters and the Stripe-shaped Charge object."""

from __future__ import annotations

from typing import Any

from sbtc_gateway.charges.models import Charge
from sbtc_gateway.core.params import (
    OptInt,
    OptStr,
    OptTimestamp,
    Params,
    RangeFilter,
    ReqStr,
    StrList,
)

CHARGE_FIELDS = [
    "id", "object", "amount", "amount_captured", "amount_refunded", "application",
    "application_fee", "application_fee_amount", "balance_transaction", "billing_details",
    "calculated_statement_descriptor", "captured", "created", "currency", "customer",
    "description", "disputed", "failure_balance_transaction", "failure_code",
    "failure_message", "fraud_details", "livemode", "metadata", "on_behalf_of", "outcome",
    "paid", "payment_intent", "payment_method", "payment_method_details", "receipt_email",
    "receipt_number", "receipt_url", "refunded", "refunds", "review", "shipping",
    "source_transfer", "statement_descriptor", "statement_descriptor_suffix", "status",
    "transfer_data", "transfer_group",
]  # fmt: skip


class ChargeListParams(Params):
    payment_intent: OptStr = None
    created: RangeFilter | OptTimestamp = None
    limit: OptInt = None
    starting_after: OptStr = None
    ending_before: OptStr = None
    customer: OptStr = None
    transfer_group: OptStr = None
    expand: StrList = []


class ChargeSearchParams(Params):
    query: ReqStr
    limit: OptInt = None
    page: OptStr = None
    expand: StrList = []


class RetrieveParams(Params):
    expand: StrList = []


def confirmations(charge: Charge, tip: int | None) -> int:
    """Blocks containing or above the charge's block (0 while it is not in a canonical one)."""
    if charge.block_height is None or tip is None or charge.reorged_at is not None:
        return 0
    return max(0, tip - charge.block_height + 1)


def render_charge(
    charge: Charge,
    *,
    tip: int | None = None,
    refunds: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The charge as Stripe shapes it. `tip` (the watcher's height of its network) gives
    `confirmations`; `refunds` (rendered) fills the `refunds` list when the caller has them."""
    succeeded = charge.status == "succeeded"
    refund_list = None
    if refunds is not None:
        refund_list = {
            "object": "list",
            "data": refunds,
            "has_more": False,
            "url": f"/v1/charges/{charge.id}/refunds",
        }
    return {
        "id": charge.id,
        "object": "charge",
        "amount": charge.amount,
        "amount_captured": charge.amount_captured,
        "amount_refunded": charge.amount_refunded,
        "application": None,
        "application_fee": None,
        "application_fee_amount": charge.application_fee_amount,
        "balance_transaction": charge.balance_transaction_id,
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "calculated_statement_descriptor": None,
        "captured": succeeded,
        "created": charge.created,
        "currency": charge.currency,
        "customer": None,
        "description": charge.description,
        "disputed": False,
        "failure_balance_transaction": charge.failure_balance_transaction_id,
        "failure_code": charge.failure_code,
        "failure_message": charge.failure_message,
        "fraud_details": {},
        "livemode": charge.livemode,
        "metadata": dict(charge.metadata_ or {}),
        "on_behalf_of": None,
        "outcome": charge.outcome,
        "paid": succeeded,
        "payment_intent": charge.payment_intent_id,
        "payment_method": None,
        "payment_method_details": {
            "type": "sbtc",
            "sbtc": {
                "payer": charge.payer,
                "recipient": charge.recipient,
                "network": charge.network,
                "txid": charge.txid,
                "block_height": None if charge.reorged_at is not None else charge.block_height,
                "block_hash": None if charge.reorged_at is not None else charge.block_hash,
                "confirmations": confirmations(charge, tip),
                "reorged_at": charge.reorged_at,
                "late": charge.late,
            },
        },
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": succeeded
        and charge.amount_captured > 0
        and charge.amount_refunded >= charge.amount_captured,
        "refunds": refund_list,
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": charge.status,
        "transfer_data": None,
        "transfer_group": None,
    }
