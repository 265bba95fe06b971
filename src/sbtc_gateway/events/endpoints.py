"""`GET /v1/events` and `GET /v1/events/{id}`, with Stripe's filters."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.responses import Response

from sbtc_gateway.api import openapi
from sbtc_gateway.api.auth import authorize
from sbtc_gateway.api.deps import gateway, parse
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.api.routing import checked_routes
from sbtc_gateway.core.errors import NotFoundError, ParameterError
from sbtc_gateway.core.paging import (
    check_limit,
    created_filter,
    finish_page,
    list_envelope,
    page_query,
)
from sbtc_gateway.core.params import (
    OptBool,
    OptId,
    OptInt,
    OptStr,
    OptTimestamp,
    Params,
    StrList,
)
from sbtc_gateway.events.models import Event
from sbtc_gateway.events.service import EVENT_TYPES, render_event
from sbtc_gateway.payments.schemas import RangeFilter

router = APIRouter(prefix="/v1/events", tags=["Events"], route_class=checked_routes())
openapi.describe(
    "Event",
    ["id", "object", "account", "api_version", "created", "data", "livemode",
     "pending_webhooks", "request", "type"],
)  # fmt: skip


class EventListParams(Params):
    limit: OptInt = None
    starting_after: OptId = None
    ending_before: OptId = None
    created: RangeFilter | OptTimestamp = None
    type: OptStr = None
    types: StrList = []
    delivery_success: OptBool = None
    expand: StrList = []


def _check_type(value: str, param: str) -> None:
    known = value in EVENT_TYPES
    wildcard = value.endswith(".*") and any(t.startswith(value[:-1]) for t in EVENT_TYPES)
    if not (known or wildcard):
        raise ParameterError(f"Unknown event type: {value!r}", param=param)


@router.get(
    "",
    summary="List events, newest first",
    openapi_extra=openapi.query(EventListParams),
    responses=openapi.responds("List", "A page of events"),
)
async def list_events(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "events:read")
    params, _ = await parse(request, EventListParams)
    limit = check_limit(params.limit)
    query = select(Event).where(
        Event.merchant_id == caller.merchant_id, Event.livemode == caller.livemode
    )
    if params.type and params.types:
        raise ParameterError("Use either type or types, not both.", param="types")
    if params.type:
        _check_type(params.type, "type")
        if params.type.endswith(".*"):
            query = query.where(Event.type.startswith(params.type[:-1]))
        else:
            query = query.where(Event.type == params.type)
    if params.types:
        for i, t in enumerate(params.types):
            _check_type(t, f"types[{i}]")
        query = query.where(Event.type.in_(params.types))
    if params.delivery_success is True:
        query = query.where(Event.pending_webhooks == 0, Event.fanout_pending.is_(False))
    elif params.delivery_success is False:
        query = query.where(Event.pending_webhooks > 0)
    query = created_filter(query, Event.created, params.created)
    paged, reversed_ = page_query(
        query,
        Event.id,
        limit=limit,
        starting_after=params.starting_after,
        ending_before=params.ending_before,
    )
    async with gw.sessions() as session:
        rows = (await session.scalars(paged)).all()
    items, has_more = finish_page(rows, limit, reversed_)
    return json_response(list_envelope([render_event(e) for e in items], has_more, "/v1/events"))


@router.get(
    "/{event_id}",
    summary="Retrieve an event",
    responses=openapi.responds("Event", "The event"),
)
async def retrieve_event(event_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "events:read")
    async with gw.sessions() as session:
        event = await session.scalar(
            select(Event).where(
                Event.id == event_id,
                Event.merchant_id == caller.merchant_id,
                Event.livemode == caller.livemode,
            )
        )
    if event is None:
        raise NotFoundError(f"No such event: '{event_id}'", param="id")
    return json_response(render_event(event))
