"""Webhook endpoint business logic. Takes a session, never commits."""

from __future__ import annotations

import time
from collections import Counter

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.errors import GatewayError
from sbtc_gateway.core.ids import new_id
from sbtc_gateway.core.origin import Origin
from sbtc_gateway.core.paging import check_limit
from sbtc_gateway.core.params import merge_metadata
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.events import repository as event_repository
from sbtc_gateway.events import service as events
from sbtc_gateway.events.models import Event
from sbtc_gateway.events.service import EVENT_TYPES
from sbtc_gateway.webhooks import queue, repository, signing, ssrf
from sbtc_gateway.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from sbtc_gateway.webhooks.schemas import (
    AttemptListParams,
    RotateSecretParams,
    TestEventParams,
    WebhookEndpointCreateParams,
    WebhookEndpointListParams,
    WebhookEndpointUpdateParams,
)
from sbtc_gateway.webhooks.settings import WebhookConfig

MAX_ENDPOINTS = 16
MAX_ROTATION_OVERLAP = 7 * 24 * 3600


def _not_found(endpoint_id: str) -> GatewayError:
    return codes.RESOURCE_MISSING(
        param="webhook_endpoint", object="webhook_endpoint", id=endpoint_id
    )


def check_enabled_events(values: list[str]) -> list[str]:
    if not values:
        raise codes.PARAMETER_MISSING(
            param="enabled_events",
            message="enabled_events must list at least one event type, or '*'.",
        )
    for i, value in enumerate(values):
        if value != "*" and value not in EVENT_TYPES:
            raise codes.PARAMETER_INVALID(
                param=f"enabled_events[{i}]", reason=f"unknown event type {value[:80]!r}"
            )
    return ["*"] if "*" in values else list(dict.fromkeys(values))


async def check_url(config: WebhookConfig, url: str, *, livemode: bool) -> str:
    try:
        await ssrf.vet(url, require_https=livemode, public_only=config.public_only)
    except ssrf.UrlRejected as exc:
        raise codes.URL_INVALID(param="url", reason=exc) from None
    return url


async def create(
    session: AsyncSession,
    config: WebhookConfig,
    caller: AuthenticatedKey,
    params: WebhookEndpointCreateParams,
) -> tuple[WebhookEndpoint, str]:
    enabled = check_enabled_events(params.enabled_events)
    url = await check_url(config, params.url, livemode=caller.livemode)
    if await repository.count(session, caller.merchant_id, caller.livemode) >= MAX_ENDPOINTS:
        raise codes.WEBHOOK_ENDPOINT_LIMIT_REACHED(maximum=MAX_ENDPOINTS)
    endpoint_id = new_id("we")
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        merchant_id=caller.merchant_id,
        livemode=caller.livemode,
        url=url,
        enabled_events=enabled,
        description=params.description,
        metadata_=merge_metadata({}, params.metadata),
        api_version=params.api_version,
        status="enabled",
        secret_enc=config.keyring.encrypt(secret, endpoint_id),
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def retrieve(
    session: AsyncSession, caller: AuthenticatedKey, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpoint:
    endpoint = await repository.get(
        session, caller.merchant_id, caller.livemode, endpoint_id, lock=lock
    )
    if endpoint is None:
        raise _not_found(endpoint_id)
    return endpoint


async def list_endpoints(
    session: AsyncSession, caller: AuthenticatedKey, params: WebhookEndpointListParams
) -> tuple[list[WebhookEndpoint], bool]:
    return await repository.list_page(
        session,
        caller.merchant_id,
        caller.livemode,
        limit=check_limit(params.limit),
        starting_after=params.starting_after,
        ending_before=params.ending_before,
    )


async def update(
    session: AsyncSession,
    config: WebhookConfig,
    caller: AuthenticatedKey,
    endpoint_id: str,
    params: WebhookEndpointUpdateParams,
) -> WebhookEndpoint:
    endpoint = await retrieve(session, caller, endpoint_id, lock=True)
    fields = params.model_fields_set - {"expand"}
    if "url" in fields:
        if not params.url:
            raise codes.PARAMETER_INVALID(param="url", message="url cannot be unset.")
        endpoint.url = await check_url(config, params.url, livemode=caller.livemode)
    if "enabled_events" in fields:
        endpoint.enabled_events = check_enabled_events(params.enabled_events)
    if "description" in fields:
        endpoint.description = params.description
    if "metadata" in fields:
        endpoint.metadata_ = merge_metadata(endpoint.metadata_ or {}, params.metadata)
    if "disabled" in fields and params.disabled is not None:
        if params.disabled and endpoint.status == "enabled":
            await queue.disable(session, endpoint, reason="merchant")
        elif not params.disabled and endpoint.status != "enabled":
            endpoint.status = "enabled"
            endpoint.disabled_reason = None
            endpoint.failing_since = None
    endpoint.updated = int(time.time())
    await session.flush()
    return endpoint


async def delete(session: AsyncSession, caller: AuthenticatedKey, endpoint_id: str) -> str:
    endpoint = await retrieve(session, caller, endpoint_id, lock=True)
    endpoint.deleted_at = int(time.time())
    endpoint.status = "disabled"
    await session.flush()
    await queue.cancel_deliveries(session, endpoint.id, queue.COUNTED)
    return endpoint.id


async def rotate_secret(
    session: AsyncSession,
    config: WebhookConfig,
    caller: AuthenticatedKey,
    endpoint_id: str,
    params: RotateSecretParams,
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the old one keeps signing (a second `v1=`) for the overlap window."""
    overlap = config.secret_overlap_seconds if params.expires_in is None else params.expires_in
    if not 0 <= overlap <= MAX_ROTATION_OVERLAP:
        raise codes.PARAMETER_INVALID(
            param="expires_in",
            message=f"expires_in must be between 0 and {MAX_ROTATION_OVERLAP} seconds.",
        )
    endpoint = await retrieve(session, caller, endpoint_id, lock=True)
    secret = signing.new_secret()
    if overlap > 0:
        endpoint.previous_secret_enc = endpoint.secret_enc
        endpoint.previous_secret_expires_at = int(time.time()) + overlap
    else:
        endpoint.previous_secret_enc = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret_enc = config.keyring.encrypt(secret, endpoint.id)
    await session.flush()
    return endpoint, secret


def _arm(delivery: WebhookDelivery, config: WebhookConfig) -> None:
    now = queue.now_ms()
    delivery.status = queue.PENDING
    delivery.next_attempt_ms = now
    delivery.deadline_ms = now + config.schedule(delivery.livemode).window_ms


async def _deliver_to(
    session: AsyncSession, config: WebhookConfig, event: Event, endpoint: WebhookEndpoint
) -> None:
    """(Re)schedule one event for one endpoint now, keeping pending_webhooks exact."""
    if event.fanout_pending and not await queue.fan_out(
        session, config, limit=1, event_ids=[event.id]
    ):
        # A worker is fanning this event out right now (its row is locked): let it finish.
        raise codes.LOCK_TIMEOUT(
            message="This event is being dispatched to your webhook endpoints right now; "
            "retry shortly."
        )
    existing = await repository.delivery(session, event.id, endpoint.id, lock=True)
    if existing is None:
        existing = WebhookDelivery(
            event_id=event.id,
            endpoint_id=endpoint.id,
            merchant_id=event.merchant_id,
            livemode=event.livemode,
            attempts=0,
        )
        _arm(existing, config)
        session.add(existing)
        await session.flush()
        await queue.adjust_pending(session, Counter({event.id: 1}))
        return
    was_counted = existing.status in queue.COUNTED
    _arm(existing, config)
    await session.flush()
    if not was_counted:
        await queue.adjust_pending(session, Counter({event.id: 1}))


async def resend(
    session: AsyncSession,
    config: WebhookConfig,
    caller: AuthenticatedKey,
    event_id: str,
    endpoint_id: str,
) -> Event:
    event = await event_repository.get(session, caller.merchant_id, caller.livemode, event_id)
    if event is None:
        raise codes.RESOURCE_MISSING(param="id", object="event", id=event_id)
    endpoint = await repository.get(session, caller.merchant_id, caller.livemode, endpoint_id)
    if endpoint is None:
        raise _not_found(endpoint_id)
    if endpoint.status != "enabled":
        raise codes.WEBHOOK_ENDPOINT_DISABLED(param="webhook_endpoint")
    await _deliver_to(session, config, event, endpoint)
    await session.refresh(event)
    return event


async def send_test_event(
    session: AsyncSession,
    config: WebhookConfig,
    caller: AuthenticatedKey,
    endpoint_id: str,
    params: TestEventParams,
    origin: Origin,
) -> Event:
    """A synthetic event delivered to this endpoint only (its object is marked as a test)."""
    type_ = params.type or "payment_intent.succeeded"
    if not type_.startswith("payment_intent.") or type_ not in EVENT_TYPES:
        raise codes.PARAMETER_INVALID(
            param="type", message="type must be a payment_intent.* event type."
        )
    endpoint = await retrieve(session, caller, endpoint_id)
    if endpoint.status != "enabled":
        raise codes.WEBHOOK_ENDPOINT_DISABLED(message="This webhook endpoint is disabled.")
    obj = {
        "id": new_id("pi"),
        "object": "payment_intent",
        "amount": 25_000,
        "currency": "sbtc",
        "livemode": caller.livemode,
        "metadata": {"sbtc_gateway_test_event": "true"},
        "status": type_.removeprefix("payment_intent."),
    }
    event = events.record(
        session,
        merchant_id=caller.merchant_id,
        livemode=caller.livemode,
        type=type_,
        obj=obj,
        origin=origin,
    )
    event.fanout_pending = False
    await session.flush()
    await _deliver_to(session, config, event, endpoint)
    await session.refresh(event)
    return event


async def list_attempts(
    session: AsyncSession, caller: AuthenticatedKey, endpoint_id: str, params: AttemptListParams
) -> tuple[list[WebhookAttempt], bool]:
    endpoint = await retrieve(session, caller, endpoint_id)
    return await repository.list_attempts(
        session,
        caller.merchant_id,
        caller.livemode,
        endpoint.id,
        event_id=params.event,
        limit=check_limit(params.limit),
        starting_after=params.starting_after,
        ending_before=params.ending_before,
    )
