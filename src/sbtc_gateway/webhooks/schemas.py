"""Request parameters and the webhook endpoint object, in Stripe's shapes."""

from __future__ import annotations

from typing import Annotated, Any

from sbtc_gateway.core.params import (
    Metadata,
    OptBool,
    OptId,
    OptInt,
    OptStr,
    Params,
    ReqId,
    ReqStr,
    StrList,
    Text,
)
from sbtc_gateway.webhooks.models import WebhookAttempt, WebhookEndpoint

WEBHOOK_ENDPOINT_FIELDS = (
    "id", "object", "api_version", "application", "created", "description", "enabled_events",
    "livemode", "metadata", "secret", "status", "url",
)  # fmt: skip

WEBHOOK_ATTEMPT_FIELDS = (
    "id", "object", "attempt", "created", "error", "event", "latency_ms", "livemode",
    "response_snippet", "status_code", "succeeded", "webhook_endpoint",
)  # fmt: skip


class WebhookEndpointCreateParams(Params):
    url: ReqStr
    enabled_events: StrList
    description: OptStr = None
    metadata: Metadata = None
    api_version: Annotated[str | None, Text(64)] = None  # String(64)
    expand: StrList = []


class WebhookEndpointUpdateParams(Params):
    url: OptStr = None
    enabled_events: StrList = []
    description: OptStr = None
    metadata: Metadata = None
    disabled: OptBool = None
    expand: StrList = []


class WebhookEndpointListParams(Params):
    limit: OptInt = None
    starting_after: OptId = None
    ending_before: OptId = None
    expand: StrList = []


class RotateSecretParams(Params):
    expires_in: OptInt = None
    expand: StrList = []


class TestEventParams(Params):
    type: OptStr = None
    expand: StrList = []


class EventRetryParams(Params):
    webhook_endpoint: ReqId
    expand: StrList = []


class AttemptListParams(Params):
    limit: OptInt = None
    starting_after: OptId = None
    ending_before: OptId = None
    event: OptId = None


def render_endpoint(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    """The endpoint object; `secret` is shown only when it was just created or rotated."""
    return {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "api_version": endpoint.api_version,
        "application": None,
        "created": endpoint.created,
        "description": endpoint.description,
        "enabled_events": list(endpoint.enabled_events),
        "livemode": endpoint.livemode,
        "metadata": dict(endpoint.metadata_ or {}),
        "secret": secret,
        "status": endpoint.status,
        "url": endpoint.url,
    }


def render_deleted(endpoint_id: str) -> dict[str, Any]:
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


def render_attempt(attempt: WebhookAttempt) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "object": "webhook_attempt",
        "attempt": attempt.attempt,
        "created": attempt.created,
        "error": attempt.error,
        "event": attempt.event_id,
        "latency_ms": attempt.latency_ms,
        "livemode": attempt.livemode,
        "response_snippet": attempt.response_snippet,
        "status_code": attempt.status_code,
        "succeeded": attempt.succeeded,
        "webhook_endpoint": attempt.endpoint_id,
    }
