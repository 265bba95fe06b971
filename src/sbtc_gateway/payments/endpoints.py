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
from sbtc_gateway.core.origin import Origin
from sbtc_gateway.core.paging import list_envelope, search_envelope
from sbtc_gateway.merchants.cache import MerchantTermsCache
from sbtc_gateway.payments import service
from sbtc_gateway.payments.access import authorize_intent
from sbtc_gateway.payments.cache import IntentCache
from sbtc_gateway.payments.schemas import (
    PAYMENT_INTENT_FIELDS,
    ListParams,
    PaymentIntentCancelParams,
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    PaymentIntentUpdateParams,
    RetrieveParams,
    SearchParams,
    render_payment_intent,
)
from sbtc_gateway.payments.service import PaymentSettings
from sbtc_gateway.payments.views import present

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
    cfg = gw.get(PaymentSettings)
    caller = await authorize(request, gw, "payment_intents:write")
    params, raw = await parse(request, PaymentIntentCreateParams)

    reading = None
    if params.confirm:
        # The chain is read before the transaction opens: no network call under a lock.
        async with gw.sessions() as session:
            terms = await gw.get(MerchantTermsCache).get(session, caller.merchant_id)
        reading = await service.chain_reading(cfg, caller.livemode, terms.payout(caller.livemode))

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        merchant = await gw.get(MerchantTermsCache).get(session, caller.merchant_id)
        pi = await service.create(session, cfg, caller, merchant, params, origin, reading=reading)
        return 200, present(render_payment_intent(pi), cfg)

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
    cfg = gw.get(PaymentSettings)
    data = [present(render_payment_intent(pi), cfg) for pi in items]
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
    cfg = gw.get(PaymentSettings)
    async with gw.sessions() as session:
        items, has_more, next_page = await service.search_intents(session, caller, params)
    data = [present(render_payment_intent(pi), cfg) for pi in items]
    return json_response(search_envelope(data, has_more, next_page, f"{BASE}/search"))


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
    cfg = gw.get(PaymentSettings)
    publishable = caller.kind == "publishable"
    if publishable:
        service.check_client_secret(cfg, intent_id, params.client_secret)
    cache = gw.get(IntentCache)
    obj, read = await cache.get(caller.merchant_id, caller.livemode, intent_id)
    if obj is None:
        async with gw.sessions() as session:
            pi = await service.retrieve(session, cfg, caller, intent_id, params.client_secret)
        obj = render_payment_intent(pi)
        await cache.put(read, caller.merchant_id, caller.livemode, obj)
    return json_response(present(obj, cfg, publishable=publishable))


@router.post(
    "/{intent_id}",
    summary="Update a PaymentIntent",
    openapi_extra=openapi.body(PaymentIntentUpdateParams),
    responses=openapi.responds("PaymentIntent", "The updated PaymentIntent"),
)
async def update_payment_intent(intent_id: str, request: Request) -> Response:
    gw = gateway(request)
    cfg = gw.get(PaymentSettings)
    caller = await authorize(request, gw, "payment_intents:write")
    params, raw = await parse(request, PaymentIntentUpdateParams)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        pi = await service.update(session, cfg, caller, intent_id, params)
        return 200, present(render_payment_intent(pi), cfg)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)


@router.post(
    "/{intent_id}/confirm",
    summary="Confirm a PaymentIntent: returns the contract call the wallet signs (a browser: "
    "the publishable key and `client_secret`, or `client_secret` alone; the payer is "
    "`payment_method_data[sbtc][payer]`)",
    openapi_extra=openapi.body(PaymentIntentConfirmParams),
    responses=openapi.responds("PaymentIntent", "The PaymentIntent, in requires_action"),
)
async def confirm_payment_intent(intent_id: str, request: Request) -> Response:
    gw = gateway(request)
    cfg = gw.get(PaymentSettings)
    params, raw = await parse(request, PaymentIntentConfirmParams)
    # A publishable key with the client secret, or (the hosted checkout) the client secret alone.
    caller = await authorize_intent(
        request, gw, "payment_intents:write", intent_id, params.client_secret
    )
    publishable = caller.kind == "publishable"
    # The chain (tip, contract, payee) is read before the transaction opens: no network call
    # under a row lock. The payee is the intent's payout address, fixed when it was created;
    # the contract, the one its live terms are signed for, if any, else the current one.
    async with gw.sessions() as session:
        target = await service.confirm_target(session, caller, intent_id)
    reading = None
    if target is not None:
        reading = await service.chain_reading(cfg, caller.livemode, *target)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        pi = await service.confirm(session, cfg, caller, intent_id, params, origin, reading=reading)
        return 200, present(render_payment_intent(pi), cfg, publishable=publishable)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)


@router.post(
    "/{intent_id}/cancel",
    summary="Cancel a PaymentIntent",
    openapi_extra=openapi.body(PaymentIntentCancelParams),
    responses=openapi.responds("PaymentIntent", "The canceled PaymentIntent"),
)
async def cancel_payment_intent(intent_id: str, request: Request) -> Response:
    gw = gateway(request)
    cfg = gw.get(PaymentSettings)
    caller = await authorize(request, gw, "payment_intents:write")
    params, raw = await parse(request, PaymentIntentCancelParams)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        pi = await service.cancel(session, caller, intent_id, params, origin, cfg)
        return 200, present(render_payment_intent(pi), cfg)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)
