"""BalanceTransaction parameters and the Stripe-shaped object."""

from __future__ import annotations

from typing import Any, Literal

from sbtc_gateway.core.params import OptInt, OptStr, OptTimestamp, Params, RangeFilter, StrList
from sbtc_gateway.ledger.models import BalanceTransaction

BALANCE_TRANSACTION_FIELDS = [
    "id", "object", "amount", "available_on", "created", "currency", "description",
    "exchange_rate", "fee", "fee_details", "net", "reporting_category", "source", "status",
    "type",
]  # fmt: skip

MerchantType = Literal["charge", "refund", "payment_reversal", "refund_failure", "adjustment"]


class BalanceTransactionListParams(Params):
    type: MerchantType | None = None
    source: OptStr = None
    created: RangeFilter | OptTimestamp = None
    limit: OptInt = None
    starting_after: OptStr = None
    ending_before: OptStr = None
    currency: Literal["sbtc"] | None = None
    expand: StrList = []


class RetrieveParams(Params):
    expand: StrList = []


def render_balance_transaction(row: BalanceTransaction) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "balance_transaction",
        "amount": row.amount,
        "available_on": row.available_on,
        "created": row.created,
        "currency": row.currency,
        "description": row.description,
        "exchange_rate": None,
        "fee": row.fee,
        "fee_details": list(row.fee_details or []),
        "net": row.net,
        "reporting_category": row.reporting_category,
        "source": row.source_id,
        "status": row.status,
        "type": row.type,
    }
