"""The fields PaymentIntent search knows (`GET /v1/payment_intents/search`)."""

from __future__ import annotations

from sqlalchemy import ColumnElement

from sbtc_gateway.db import search
from sbtc_gateway.db.search import Clause, SearchFields
from sbtc_gateway.payments.models import PaymentIntent

FIELDS = SearchFields(
    strings={"status": PaymentIntent.status, "currency": PaymentIntent.currency},
    numbers={
        "amount": PaymentIntent.amount,
        "amount_received": PaymentIntent.amount_received,
        "created": PaymentIntent.created,
    },
    metadata=PaymentIntent.metadata_,
)


def parse(query: str) -> tuple[list[Clause], str]:
    return search.parse(query, FIELDS)


def to_condition(query: str) -> ColumnElement[bool]:
    return search.to_condition(query, FIELDS)
