"""`/v1/balance_transactions`: retrieve and list (Stripe's shape and filters)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from sbtc_gateway.api import openapi
from sbtc_gateway.api.auth import authorize
from sbtc_gateway.api.deps import gateway, parse
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.api.routing import checked_routes
from sbtc_gateway.core.paging import list_envelope
from sbtc_gateway.ledger import service
from sbtc_gateway.ledger.schemas import (
    BALANCE_TRANSACTION_FIELDS,
    BalanceTransactionListParams,
    RetrieveParams,
    render_balance_transaction,
)

router = APIRouter(
    prefix="/v1/balance_transactions", tags=["Balance transactions"], route_class=checked_routes()
)
BASE = "/v1/balance_transactions"
openapi.describe("BalanceTransaction", BALANCE_TRANSACTION_FIELDS)


@router.get(
    "",
    summary="List the ledger's movements of money, newest first",
    openapi_extra=openapi.query(BalanceTransactionListParams),
    responses=openapi.responds("List", "A page of balance transactions"),
)
async def list_balance_transactions(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "balance:read")
    params, _ = await parse(request, BalanceTransactionListParams)
    async with gw.sessions() as session:
        items, has_more = await service.list_transactions(session, caller, params)
    data = [render_balance_transaction(row) for row in items]
    return json_response(list_envelope(data, has_more, BASE))


@router.get(
    "/{balance_transaction_id}",
    summary="Retrieve a balance transaction",
    openapi_extra=openapi.query(RetrieveParams),
    responses=openapi.responds("BalanceTransaction", "The balance transaction"),
)
async def retrieve_balance_transaction(balance_transaction_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "balance:read")
    await parse(request, RetrieveParams)
    async with gw.sessions() as session:
        row = await service.retrieve(session, caller, balance_transaction_id)
    return json_response(render_balance_transaction(row))
