"""The browser's endpoints: the checkout view, the receipt and the payer's balance check.

POST with the client secret in the body, so it never lands in a query string or a path that
a proxy or access log keeps; a publishable key may come along (`Authorization: Bearer pk_…`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from sbtc_gateway.api import openapi
from sbtc_gateway.api.deps import gateway, parse
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.api.routing import checked_routes
from sbtc_gateway.checkout import service
from sbtc_gateway.checkout.schemas import (
    CHECKOUT_FIELDS,
    MERCHANT_FIELDS,
    PAYER_BALANCE_FIELDS,
    RECEIPT_FIELDS,
    CheckoutParams,
    PayerBalanceParams,
)
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.payments.access import authorize_intent
from sbtc_gateway.payments.service import PaymentSettings

router = APIRouter(
    prefix="/v1/payment_intents",
    tags=["Checkout"],
    route_class=checked_routes(intent_id="intent"),
)

openapi.describe("Checkout", CHECKOUT_FIELDS)
openapi.describe("CheckoutMerchant", MERCHANT_FIELDS)
openapi.describe("Receipt", RECEIPT_FIELDS)
openapi.describe("PayerBalance", PAYER_BALANCE_FIELDS)


@router.post(
    "/{intent_id}/checkout",
    summary="What a checkout page shows: the intent as a browser sees it (with the wallet's "
    "contract call once confirmed), the merchant's name and branding, the time left by the "
    "server's clock and the chain's height, and the receipt once paid. Publishable key and "
    "`client_secret`, or `client_secret` alone",
    openapi_extra=openapi.body(CheckoutParams),
    responses=openapi.responds("Checkout", "The checkout view of the PaymentIntent"),
)
async def checkout(intent_id: str, request: Request) -> Response:
    gw = gateway(request)
    cfg = gw.get(PaymentSettings)
    params, _ = await parse(request, CheckoutParams)
    caller = await authorize_intent(
        request, gw, "payment_intents:read", intent_id, params.client_secret
    )
    tip = await service.tip_height(cfg, caller.livemode)  # before the session: no network in it
    async with gw.sessions() as session:
        loaded = await service.load(session, caller, intent_id)
    body = service.render_checkout(loaded, cfg, tip, publishable=caller.kind == "publishable")
    return json_response(body, headers={"Cache-Control": "no-store"})


@router.post(
    "/{intent_id}/receipt",
    summary="The receipt of a succeeded PaymentIntent (the public receipt page reads it). "
    "Publishable key and `client_secret`, or `client_secret` alone",
    openapi_extra=openapi.body(CheckoutParams),
    responses=openapi.responds("Receipt", "The receipt"),
)
async def receipt(intent_id: str, request: Request) -> Response:
    gw = gateway(request)
    cfg = gw.get(PaymentSettings)
    params, _ = await parse(request, CheckoutParams)
    caller = await authorize_intent(
        request, gw, "payment_intents:read", intent_id, params.client_secret
    )
    async with gw.sessions() as session:
        loaded = await service.load(session, caller, intent_id)
    body = service.render_receipt(loaded.intent, loaded.merchant, cfg.network(caller.livemode))
    if body is None:
        raise codes.PAYMENT_INTENT_UNEXPECTED_STATE(
            action="show a receipt for",
            status=loaded.intent.status,
            extra={"payment_intent": {"id": intent_id, "status": loaded.intent.status}},
        )
    return json_response(body, headers={"Cache-Control": "no-store"})


@router.post(
    "/{intent_id}/payer_balance",
    summary="Whether `payer` holds the intent's amount in sBTC and enough STX for a typical "
    "fee, from the network's Stacks API (the checkout asks before the wallet opens). "
    "Publishable key and `client_secret`, or `client_secret` alone",
    openapi_extra=openapi.body(PayerBalanceParams),
    responses=openapi.responds("PayerBalance", "The payer's balances against what it needs"),
)
async def payer_balance(intent_id: str, request: Request) -> Response:
    gw = gateway(request)
    cfg = gw.get(PaymentSettings)
    params, _ = await parse(request, PayerBalanceParams)
    caller = await authorize_intent(
        request, gw, "payment_intents:read", intent_id, params.client_secret
    )
    if params.payer is None:
        raise codes.PARAMETER_MISSING(param="payer")
    async with gw.sessions() as session:
        loaded = await service.load(session, caller, intent_id)
    amount = loaded.intent.amount
    # the session is closed: the Stacks API is asked outside it
    body = await service.payer_balance(cfg, caller.livemode, params.payer, amount)
    return json_response(body, headers={"Cache-Control": "no-store"})
