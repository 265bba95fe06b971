"""`/v1/charges`: retrieve, list (by `payment_intent`), search — Stripe's shapes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from sbtc_gateway.api import openapi
from sbtc_gateway.api.auth import authorize
from sbtc_gateway.api.deps import gateway, parse
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.api.routing import checked_routes
from sbtc_gateway.chainstate import repository as chainstate
from sbtc_gateway.charges import service
from sbtc_gateway.charges.models import Charge
from sbtc_gateway.charges.schemas import (
    CHARGE_FIELDS,
    ChargeListParams,
    ChargeSearchParams,
    RetrieveParams,
    render_charge,
)
from sbtc_gateway.core.paging import list_envelope, search_envelope
from sbtc_gateway.refunds import repository as refunds
from sbtc_gateway.refunds.schemas import render_refund

router = APIRouter(prefix="/v1/charges", tags=["Charges"], route_class=checked_routes())
BASE = "/v1/charges"
openapi.describe("Charge", CHARGE_FIELDS)


async def _render(session: AsyncSession, charges: Sequence[Charge]) -> list[dict[str, Any]]:
    """Charges with their refunds and confirmations (one query each, whatever the page size).
    A charge of a chain the watcher has left counts its confirmations up to where it left it."""
    networks = {c.network for c in charges}
    tips = await chainstate.cursor_heights(session, networks)
    left = await chainstate.left_chains(session, networks)

    def tip_of(charge: Charge) -> int | None:
        for when, height in left.get(charge.network, ()):
            if charge.created <= when:
                return height
        return tips.get(charge.network)

    by_charge = await refunds.for_charges(session, [c.id for c in charges])
    return [
        render_charge(
            c,
            tip=tip_of(c),
            refunds=[render_refund(r) for r in by_charge.get(c.id, [])],
        )
        for c in charges
    ]


@router.get(
    "",
    summary="List charges (every on-chain payment attempt), newest first",
    openapi_extra=openapi.query(ChargeListParams),
    responses=openapi.responds("List", "A page of charges"),
)
async def list_charges(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "charges:read")
    params, _ = await parse(request, ChargeListParams)
    async with gw.sessions() as session:
        items, has_more = await service.list_charges(session, caller, params)
        data = await _render(session, items)
    return json_response(list_envelope(data, has_more, BASE))


@router.get(
    "/search",
    summary="Search charges",
    openapi_extra=openapi.query(ChargeSearchParams),
    responses=openapi.responds("SearchResult", "Matching charges, newest first"),
)
async def search_charges(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "charges:read")
    params, _ = await parse(request, ChargeSearchParams)
    async with gw.sessions() as session:
        items, has_more, next_page = await service.search_charges(session, caller, params)
        data = await _render(session, items)
    return json_response(search_envelope(data, has_more, next_page, f"{BASE}/search"))


@router.get(
    "/{charge_id}",
    summary="Retrieve a charge",
    openapi_extra=openapi.query(RetrieveParams),
    responses=openapi.responds("Charge", "The charge"),
)
async def retrieve_charge(charge_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "charges:read")
    await parse(request, RetrieveParams)
    async with gw.sessions() as session:
        charge = await service.retrieve(session, caller, charge_id)
        [body] = await _render(session, [charge])
    return json_response(body)
