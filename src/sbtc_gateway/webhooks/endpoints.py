"""`/v1/webhook_endpoints` (Stripe shapes), the delivery log, test events and manual resend."""

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
from sbtc_gateway.events.service import render_event
from sbtc_gateway.webhooks import service
from sbtc_gateway.webhooks.schemas import (
    WEBHOOK_ATTEMPT_FIELDS,
    WEBHOOK_ENDPOINT_FIELDS,
    AttemptListParams,
    EventRetryParams,
    RotateSecretParams,
    TestEventParams,
    WebhookEndpointCreateParams,
    WebhookEndpointListParams,
    WebhookEndpointUpdateParams,
    render_attempt,
    render_deleted,
    render_endpoint,
)
from sbtc_gateway.webhooks.settings import WebhookConfig

router = APIRouter(tags=["Webhooks"], route_class=checked_routes(endpoint_id="webhook_endpoint"))
BASE = "/v1/webhook_endpoints"

openapi.describe("WebhookEndpoint", list(WEBHOOK_ENDPOINT_FIELDS))
openapi.describe("DeletedWebhookEndpoint", ["id", "object", "deleted"])
openapi.describe("WebhookAttempt", list(WEBHOOK_ATTEMPT_FIELDS))


def _config(request: Request) -> WebhookConfig:
    return WebhookConfig.from_settings(gateway(request).settings)


@router.post(
    BASE,
    summary="Create a webhook endpoint (the signing secret is returned this once)",
    openapi_extra=openapi.body(WebhookEndpointCreateParams),
    responses=openapi.responds("WebhookEndpoint", "The new endpoint, with its secret"),
)
async def create_webhook_endpoint(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "webhooks:write")
    await require_signature(request, gw, caller)
    params, raw = await parse(request, WebhookEndpointCreateParams)
    config = _config(request)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        endpoint, secret = await service.create(session, config, caller, params)
        return 200, render_endpoint(endpoint, secret=secret)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)


@router.get(
    BASE,
    summary="List webhook endpoints",
    openapi_extra=openapi.query(WebhookEndpointListParams),
    responses=openapi.responds("List", "A page of webhook endpoints, newest first"),
)
async def list_webhook_endpoints(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "webhooks:read")
    params, _ = await parse(request, WebhookEndpointListParams)
    async with gw.sessions() as session:
        items, has_more = await service.list_endpoints(session, caller, params)
    return json_response(list_envelope([render_endpoint(e) for e in items], has_more, BASE))


@router.get(
    BASE + "/{endpoint_id}",
    summary="Retrieve a webhook endpoint",
    responses=openapi.responds("WebhookEndpoint", "The endpoint"),
)
async def retrieve_webhook_endpoint(endpoint_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "webhooks:read")
    async with gw.sessions() as session:
        endpoint = await service.retrieve(session, caller, endpoint_id)
    return json_response(render_endpoint(endpoint))


@router.post(
    BASE + "/{endpoint_id}",
    summary="Update a webhook endpoint (`disabled=true` stops deliveries)",
    openapi_extra=openapi.body(WebhookEndpointUpdateParams),
    responses=openapi.responds("WebhookEndpoint", "The updated endpoint"),
)
async def update_webhook_endpoint(endpoint_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "webhooks:write")
    await require_signature(request, gw, caller)
    params, raw = await parse(request, WebhookEndpointUpdateParams)
    config = _config(request)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        endpoint = await service.update(session, config, caller, endpoint_id, params)
        return 200, render_endpoint(endpoint)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)


@router.delete(
    BASE + "/{endpoint_id}",
    summary="Delete a webhook endpoint (pending deliveries to it are canceled)",
    responses=openapi.responds("DeletedWebhookEndpoint", "The deleted endpoint"),
)
async def delete_webhook_endpoint(endpoint_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "webhooks:write")
    await require_signature(request, gw, caller)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        return 200, render_deleted(await service.delete(session, caller, endpoint_id))

    return await run_write(request, gw, scope=caller.api_key_id, params={}, handler=handler)


@router.post(
    BASE + "/{endpoint_id}/rotate_secret",
    summary="Rotate the signing secret; the old one keeps signing for `expires_in` seconds",
    openapi_extra=openapi.body(RotateSecretParams),
    responses=openapi.responds("WebhookEndpoint", "The endpoint with its new secret"),
)
async def rotate_webhook_secret(endpoint_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "webhooks:write")
    await require_signature(request, gw, caller)
    params, raw = await parse(request, RotateSecretParams)
    config = _config(request)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        endpoint, secret = await service.rotate_secret(session, config, caller, endpoint_id, params)
        return 200, render_endpoint(endpoint, secret=secret)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)


@router.post(
    BASE + "/{endpoint_id}/test",
    summary="Send a test event to this endpoint only",
    openapi_extra=openapi.body(TestEventParams),
    responses=openapi.responds("Event", "The test event, queued for delivery"),
)
async def send_test_event(endpoint_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "webhooks:write")
    params, raw = await parse(request, TestEventParams)
    config = _config(request)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        event = await service.send_test_event(session, config, caller, endpoint_id, params, origin)
        return 200, render_event(event)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)


@router.get(
    BASE + "/{endpoint_id}/attempts",
    summary="The delivery log of an endpoint: one entry per HTTP attempt, newest first",
    openapi_extra=openapi.query(AttemptListParams),
    responses=openapi.responds("List", "A page of delivery attempts"),
)
async def list_webhook_attempts(endpoint_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "webhooks:read")
    params, _ = await parse(request, AttemptListParams)
    async with gw.sessions() as session:
        items, has_more = await service.list_attempts(session, caller, endpoint_id, params)
    url = f"{BASE}/{endpoint_id}/attempts"
    return json_response(list_envelope([render_attempt(a) for a in items], has_more, url))


@router.post(
    "/v1/events/{event_id}/retry",
    tags=["Events"],
    summary="Resend an event to one webhook endpoint now",
    openapi_extra=openapi.body(EventRetryParams),
    responses=openapi.responds("Event", "The event, queued for delivery"),
)
async def retry_event(event_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "events:write")
    params, raw = await parse(request, EventRetryParams)
    config = _config(request)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        event = await service.resend(session, config, caller, event_id, params.webhook_endpoint)
        return 200, render_event(event)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)
