"""HTTP endpoints for PaymentIntents: parse, authorize, call the service, render."""

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
from sbtc_gateway.core.paging import list_envelope
from sbtc_gateway.events.service import Origin
from sbtc_gateway.payments import service
from sbtc_gateway.payments.schemas import (
    PAYMENT_INTENT_FIELDS,
    ListParams,
    PaymentIntentCancelParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    PaymentIntentUpdateParams,
    RetrieveParams,
    SearchParams,
    publishable_view,
    render_payment_intent,
)

router = APIRouter(
    prefix="/v1/payment_intents",
    tags=["PaymentIntents"],
    route_class=checked_routes(intent_id="intent"),
)
BASE = "/v1/payment_intents"

openapi.describe("PaymentIntent", list(PAYMENT_INTENT_FIELDS))


@router.post(
    "",
    summary="Create a PaymentIntent",
    openapi_extra=openapi.body(PaymentIntentCreateParams),
    responses=openapi.responds("PaymentIntent", "The new PaymentIntent"),
)
async def create_payment_intent(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "payment_intents:write")
    params, raw = await parse(request, PaymentIntentCreateParams)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        merchant = await gw.merchant_terms(session, caller.merchant_id)
        pi = await service.create(session, gw.payments, caller, merchant, params, origin)
        return 200, render_payment_intent(pi)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)


@router.get(
    "",
    summary="List PaymentIntents",
    openapi_extra=openapi.query(ListParams),
    responses=openapi.responds("List", "A page of PaymentIntents, newest first"),
)
async def list_payment_intents(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "payment_intents:read")
    params, _ = await parse(request, ListParams)
    async with gw.sessions() as session:
        items, has_more = await service.list_intents(session, caller, params)
    data = [render_payment_intent(pi) for pi in items]
    return json_response(list_envelope(data, has_more, BASE))


@router.get(
    "/search",
    summary="Search PaymentIntents",
    openapi_extra=openapi.query(SearchParams),
    responses=openapi.responds("SearchResult", "Matching PaymentIntents, newest first"),
)
async def search_payment_intents(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "payment_intents:read")
    params, _ = await parse(request, SearchParams)
    async with gw.sessions() as session:
        items, has_more, next_page = await service.search_intents(session, caller, params)
    return json_response(
        {
            "object": "search_result",
            "data": [render_payment_intent(pi) for pi in items],
            "has_more": has_more,
            "next_page": next_page,
            "url": f"{BASE}/search",
        }
    )


@router.get(
    "/{intent_id}",
    summary="Retrieve a PaymentIntent (publishable keys must send client_secret)",
    openapi_extra=openapi.query(RetrieveParams),
    responses=openapi.responds("PaymentIntent", "The PaymentIntent"),
)
async def retrieve_payment_intent(intent_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "payment_intents:read", publishable=True)
    params, _ = await parse(request, RetrieveParams)
    obj, read = await gw.intents.get(caller.merchant_id, caller.livemode, intent_id)
    if obj is None:
        async with gw.sessions() as session:
            pi = await service.retrieve(session, caller, intent_id, params.client_secret)
        obj = render_payment_intent(pi)
        await gw.intents.put(read, caller.merchant_id, caller.livemode, obj)
    elif caller.kind == "publishable":
        service.check_client_secret(intent_id, obj["client_secret"], params.client_secret)
    return json_response(publishable_view(obj) if caller.kind == "publishable" else obj)


@router.post(
    "/{intent_id}",
    summary="Update a PaymentIntent",
    openapi_extra=openapi.body(PaymentIntentUpdateParams),
    responses=openapi.responds("PaymentIntent", "The updated PaymentIntent"),
)
async def update_payment_intent(intent_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "payment_intents:write")
    params, raw = await parse(request, PaymentIntentUpdateParams)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        pi = await service.update(session, gw.payments, caller, intent_id, params)
        return 200, render_payment_intent(pi)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)


@router.post(
    "/{intent_id}/confirm",
    summary="Confirm a PaymentIntent: returns the contract call the wallet signs",
    openapi_extra=openapi.body(PaymentIntentConfirmParams),
    responses=openapi.responds("PaymentIntent", "The PaymentIntent, in requires_action"),
)
async def confirm_payment_intent(intent_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "payment_intents:write", publishable=True)
    params, raw = await parse(request, PaymentIntentConfirmParams)
    publishable = caller.kind == "publishable"

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        pi = await service.confirm(session, gw.payments, caller, intent_id, params, origin)
        return 200, render_payment_intent(pi, publishable=publishable)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)


@router.post(
    "/{intent_id}/cancel",
    summary="Cancel a PaymentIntent",
    openapi_extra=openapi.body(PaymentIntentCancelParams),
    responses=openapi.responds("PaymentIntent", "The canceled PaymentIntent"),
)
async def cancel_payment_intent(intent_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "payment_intents:write")
    params, raw = await parse(request, PaymentIntentCancelParams)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        pi = await service.cancel(session, caller, intent_id, params, origin)
        return 200, render_payment_intent(pi)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)
