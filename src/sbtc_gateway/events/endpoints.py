"""`GET /v1/events` and `GET /v1/events/{id}`, with Stripe's filters."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from sbtc_gateway.api import openapi
from sbtc_gateway.api.auth import authorize
from sbtc_gateway.api.deps import gateway, parse
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.api.routing import checked_routes
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.paging import (
    check_limit,
    list_envelope,
)
from sbtc_gateway.core.params import (
    OptBool,
    OptId,
    OptInt,
    OptStr,
    OptTimestamp,
    Params,
    RangeFilter,
    StrList,
)
from sbtc_gateway.events import repository
from sbtc_gateway.events.service import EVENT_TYPES, render_event

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
        raise codes.PARAMETER_INVALID(param=param, message=f"Unknown event type: {value!r}")


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
    if params.type and params.types:
        raise codes.PARAMETER_INVALID(param="types", message="Use either type or types, not both.")
    type_prefix: str | None = None
    types: list[str] = []
    if params.type:
        _check_type(params.type, "type")
        if params.type.endswith(".*"):
            type_prefix = params.type[:-1]
        else:
            types = [params.type]
    for i, t in enumerate(params.types):
        _check_type(t, f"types[{i}]")
        types.append(t)
    async with gw.sessions() as session:
        items, has_more = await repository.list_page(
            session,
            caller.merchant_id,
            caller.livemode,
            type_prefix=type_prefix,
            types=types,
            delivery_success=params.delivery_success,
            created=params.created,
            limit=check_limit(params.limit),
            starting_after=params.starting_after,
            ending_before=params.ending_before,
        )
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
        event = await repository.get(session, caller.merchant_id, caller.livemode, event_id)
    if event is None:
        raise codes.RESOURCE_MISSING(param="id", object="event", id=event_id)
    return json_response(render_event(event))
