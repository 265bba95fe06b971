"""`/v1/refunds`: create, retrieve, list (Stripe's shape)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from sbtc_gateway.api import openapi
from sbtc_gateway.api.auth import authorize
from sbtc_gateway.api.deps import gateway, parse
from sbtc_gateway.api.mutation import run_write
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.api.routing import checked_routes
from sbtc_gateway.api.signing import require_signature
from sbtc_gateway.core.origin import Origin
from sbtc_gateway.core.paging import list_envelope
from sbtc_gateway.payments.service import PaymentSettings
from sbtc_gateway.refunds import service
from sbtc_gateway.refunds.schemas import (
    REFUND_FIELDS,
    RefundCreateParams,
    RefundListParams,
    RetrieveParams,
    render_refund,
)

router = APIRouter(prefix="/v1/refunds", tags=["Refunds"], route_class=checked_routes())
BASE = "/v1/refunds"
openapi.describe("Refund", REFUND_FIELDS)


@router.post(
    "",
    summary="Refund all or part of a succeeded PaymentIntent (the merchant's wallet signs it)",
    openapi_extra=openapi.body(RefundCreateParams),
    responses=openapi.responds("Refund", "The refund, in requires_action with the contract call"),
)
async def create_refund(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "refunds:write")
    await require_signature(request, gw, caller)
    params, raw = await parse(request, RefundCreateParams)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        refund = await service.create(session, gw.get(PaymentSettings), caller, params, origin)
        return 200, render_refund(refund)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)


@router.get(
    "",
    summary="List refunds, newest first",
    openapi_extra=openapi.query(RefundListParams),
    responses=openapi.responds("List", "A page of refunds"),
)
async def list_refunds(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "refunds:read")
    params, _ = await parse(request, RefundListParams)
    async with gw.sessions() as session:
        items, has_more = await service.list_refunds(session, caller, params)
    return json_response(list_envelope([render_refund(r) for r in items], has_more, BASE))


@router.get(
    "/{refund_id}",
    summary="Retrieve a refund",
    openapi_extra=openapi.query(RetrieveParams),
    responses=openapi.responds("Refund", "The refund"),
)
async def retrieve_refund(refund_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "refunds:read")
    await parse(request, RetrieveParams)
    async with gw.sessions() as session:
        refund = await service.retrieve(session, caller, refund_id)
    return json_response(render_refund(refund))
