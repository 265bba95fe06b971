"""Recording events. Called inside the transaction that made the change, never after it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.core.ids import new_id
from sbtc_gateway.core.origin import Origin
from sbtc_gateway.db.base import now
from sbtc_gateway.events.models import Event
from sbtc_gateway.observability import metrics

log = structlog.get_logger(__name__)

DEFAULT_API_VERSION = "2026-10-28.endive"

EVENT_TYPES = frozenset(
    {
        "payment_intent.created",
        "payment_intent.requires_action",
        "payment_intent.processing",
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.amount_capturable_updated",
        "payment_intent.payment_reversed",
        "payment_intent.paid_late",
        "charge.pending",
        "charge.succeeded",
        "charge.failed",
        "charge.updated",
        "charge.refunded",
        "charge.reversed",
        "refund.created",
        "refund.updated",
        "refund.failed",
        "webhook_endpoint.disabled",
        "account.updated",
        "reporting.report_run.succeeded",
        "reporting.report_run.failed",
    }
)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    type: str
    status: Any
    livemode: bool
    amount: Any


RECORDED = "sbtc.recorded_events"


def record(
    session: AsyncSession,
    *,
    merchant_id: str,
    livemode: bool,
    type: str,
    obj: dict[str, Any],
    origin: Origin,
    previous_attributes: dict[str, Any] | None = None,
) -> Event:
    data: dict[str, Any] = {"object": obj}
    if previous_attributes:
        data["previous_attributes"] = previous_attributes
    event = Event(
        id=new_id("evt"),
        merchant_id=merchant_id,
        livemode=livemode,
        type=type,
        api_version=origin.api_version or DEFAULT_API_VERSION,
        object_id=str(obj["id"]),
        data=data,
        request_id=origin.request_id,
        idempotency_key=origin.idempotency_key,
        request_ip=origin.client_ip,
        request_user_agent=origin.user_agent,
        created=now(),
    )
    session.add(event)
    log.debug("event recorded", event_id=event.id, type=type, object_id=event.object_id)
    # Counted in metrics by the transaction's owner once committed (see `committed_events`).
    session.info.setdefault(RECORDED, []).append(
        RecordedEvent(type, obj.get("status"), livemode, obj.get("amount"))
    )
    return event


def committed_events(session: AsyncSession) -> list[RecordedEvent]:
    """The events recorded in a transaction that has just committed (for metrics)."""
    recorded: list[RecordedEvent] = session.info.pop(RECORDED, [])
    return recorded


def count_committed(session: AsyncSession) -> None:
    """Count a committed transaction's events in the metrics (the payment ones by status)."""
    for event in committed_events(session):
        metrics.EVENTS.labels(event.type).inc()
        if not event.type.startswith("payment_intent.") or not event.status:
            continue
        mode = "true" if event.livemode else "false"
        metrics.PAYMENT_INTENTS.labels(event.status, mode).inc()
        if event.type == "payment_intent.succeeded" and isinstance(event.amount, int):
            metrics.PAYMENT_VOLUME.labels(mode).inc(event.amount)
            metrics.PAYMENT_AMOUNT.observe(event.amount)


def render_event(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "object": "event",
        "account": None,
        "api_version": event.api_version,
        "created": event.created,
        "data": event.data,
        "livemode": event.livemode,
        "pending_webhooks": event.pending_webhooks,
        "request": {"id": event.request_id, "idempotency_key": event.idempotency_key},
        "type": event.type,
    }
