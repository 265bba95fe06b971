"""The fields Charge search knows (`GET /v1/charges/search`)."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from sbtc_gateway.charges.models import Charge
from sbtc_gateway.db import search
from sbtc_gateway.db.search import SearchFields

FIELDS = SearchFields(
    strings={
        "status": Charge.status,
        "currency": Charge.currency,
        "payment_intent": Charge.payment_intent_id,
        "txid": Charge.txid,
        "payer": Charge.payer,
    },
    numbers={
        "amount": Charge.amount,
        "amount_refunded": Charge.amount_refunded,
        "created": Charge.created,
    },
    metadata=Charge.metadata_,
)


def to_condition(query: str) -> ColumnElement[bool]:
    return search.to_condition(query, FIELDS)
