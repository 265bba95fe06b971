"""The delivery queue in the database: fan-out from the events outbox, claims, outcomes.

Claims: candidate rows are selected with `FOR UPDATE SKIP LOCKED` on PostgreSQL (so concurrent
workers never wait on, or take, each other's rows) and leased (`lease_until_ms`, `lease_token`)
in the same short transaction; the HTTP call happens after commit. A worker that dies leaves
leases that simply expire, and the rows are claimed again: at-least-once delivery. SQLite has a
single writer, so one worker there; the lease update re-checks its condition anyway.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.core.crypto import KeyringError
from sbtc_gateway.core.ids import new_id
from sbtc_gateway.core.origin import SYSTEM
from sbtc_gateway.events import service as events
from sbtc_gateway.events.models import Event
from sbtc_gateway.events.service import render_event
from sbtc_gateway.observability import metrics
from sbtc_gateway.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from sbtc_gateway.webhooks.schemas import render_endpoint
from sbtc_gateway.webhooks.settings import WebhookConfig

log = structlog.get_logger(__name__)

PENDING, SUCCEEDED, FAILED, CANCELED = "pending", "succeeded", "failed", "canceled"
UNDECRYPTABLE_BACKOFF_MS = 60_000
COUNTED = (PENDING, FAILED)  # statuses that count in events.pending_webhooks
D = WebhookDelivery
E = WebhookEndpoint


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def subscribed(enabled_events: Iterable[str], event_type: str) -> bool:
    return any(t == "*" or t == event_type for t in enabled_events)


async def adjust_pending(session: AsyncSession, deltas: Counter[str]) -> None:
    """Add deltas to events.pending_webhooks (one executemany).

    Rows are updated in id order, so two workers touching the same events lock them in the same
    order (no deadlock).
    """
    params = [{"eid": k, "delta": v} for k, v in sorted(deltas.items()) if v]
    if not params:
        return
    table = Event.__table__
    assert isinstance(table, Table)
    stmt = (
        table.update()
        .where(table.c.id == bindparam("eid"))
        .values(pending_webhooks=table.c.pending_webhooks + bindparam("delta"))
    )
    await session.execute(stmt, params)


async def fan_out(
    session: AsyncSession,
    config: WebhookConfig,
    *,
    limit: int,
    event_ids: list[str] | None = None,
) -> int:
    """Turn recorded events into one delivery row per subscribed enabled endpoint, durably."""
    query = select(Event.id, Event.merchant_id, Event.livemode, Event.type).where(
        Event.fanout_pending.is_(True)
    )
    if event_ids is not None:
        query = query.where(Event.id.in_(event_ids))
    query = query.order_by(Event.id).limit(limit).with_for_update(skip_locked=True)
    batch = (await session.execute(query)).all()
    if not batch:
        return 0
    merchants = {row.merchant_id for row in batch}
    endpoints = (
        await session.execute(
            select(E.id, E.merchant_id, E.livemode, E.enabled_events).where(
                E.merchant_id.in_(merchants), E.status == "enabled", E.deleted_at.is_(None)
            )
        )
    ).all()
    by_scope: dict[tuple[str, bool], list[Any]] = {}
    for ep in endpoints:
        by_scope.setdefault((ep.merchant_id, ep.livemode), []).append(ep)
    now = now_ms()
    rows: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    for ev in batch:
        window = config.schedule(ev.livemode).window_ms
        for ep in by_scope.get((ev.merchant_id, ev.livemode), []):
            if subscribed(ep.enabled_events, ev.type):
                rows.append(
                    {
                        "event_id": ev.id,
                        "endpoint_id": ep.id,
                        "merchant_id": ev.merchant_id,
                        "livemode": ev.livemode,
                        "status": PENDING,
                        "attempts": 0,
                        "next_attempt_ms": now,
                        "deadline_ms": now + window,
                        "created": now // 1000,
                        "updated": now // 1000,
                    }
                )
                counts[ev.id] += 1
    if rows:
        await session.execute(insert(D), rows)
    await session.execute(
        update(Event)
        .where(Event.id.in_([ev.id for ev in batch]))
        .values(fanout_pending=False)
        .execution_options(synchronize_session=False)
    )
    await adjust_pending(session, counts)
    return len(batch)


@dataclass(frozen=True, slots=True)
class Job:
    """One claimed delivery, with everything needed to send it (secrets stay in memory)."""

    delivery_id: int
    lease_token: str
    attempts: int
    deadline_ms: int
    livemode: bool
    event_id: str
    endpoint_id: str
    merchant_id: str
    url: str
    body: bytes
    secrets: tuple[str, ...]
    request_id: str | None = None  # the API request that caused the event (for the logs)


async def depth(session: AsyncSession) -> int:
    """Deliveries still to make (pending, due or not): the `sbtc_outbox_depth` gauge."""
    count = await session.scalar(select(func.count()).select_from(D).where(D.status == PENDING))
    return int(count or 0)


async def in_flight(session: AsyncSession, at_ms: int) -> dict[str, int]:
    rows = await session.execute(
        select(D.endpoint_id, func.count())
        .where(D.lease_until_ms > at_ms, D.status == PENDING)
        .group_by(D.endpoint_id)
    )
    return {endpoint_id: int(n) for endpoint_id, n in rows.all()}


async def claim(
    session: AsyncSession,
    config: WebhookConfig,
    *,
    limit: int,
    per_endpoint: int,
    lease_ms: int,
) -> list[Job]:
    now = now_ms()
    busy = await in_flight(session, now)
    saturated = [ep for ep, n in busy.items() if n >= per_endpoint]
    free = or_(D.lease_until_ms.is_(None), D.lease_until_ms < now)
    query = select(D.id, D.endpoint_id).where(D.status == PENDING, D.next_attempt_ms <= now, free)
    if saturated:
        query = query.where(D.endpoint_id.not_in(saturated))
    query = query.order_by(D.next_attempt_ms).limit(limit * 2).with_for_update(skip_locked=True)
    chosen: list[int] = []
    for delivery_id, endpoint_id in (await session.execute(query)).all():
        if busy.get(endpoint_id, 0) >= per_endpoint:
            continue
        busy[endpoint_id] = busy.get(endpoint_id, 0) + 1
        chosen.append(delivery_id)
        if len(chosen) >= limit:
            break
    if not chosen:
        return []
    token = secrets.token_hex(8)
    await session.execute(
        update(D)
        .where(D.id.in_(chosen), D.status == PENDING, free)
        .values(lease_until_ms=now + lease_ms, lease_token=token)
        .execution_options(synchronize_session=False)
    )
    loaded = await session.execute(
        select(D, Event, E)
        .join(Event, Event.id == D.event_id)
        .join(E, E.id == D.endpoint_id)
        .where(D.lease_token == token)
    )
    jobs: list[Job] = []
    dropped: list[WebhookDelivery] = []
    plaintexts: dict[str, tuple[str, ...]] = {}
    for delivery, event, endpoint in loaded.all():
        if endpoint.status != "enabled" or endpoint.deleted_at is not None:
            dropped.append(delivery)
            continue
        if endpoint.id not in plaintexts:
            try:
                plaintexts[endpoint.id] = signing_secrets(config, endpoint, now // 1000)
            except KeyringError:
                # A key was removed from SBTC_ENCRYPTION_KEYS too early: keep the row
                # (leased for a while) rather than stall every other delivery.
                log.error("webhook secret does not decrypt", endpoint=endpoint.id)
                plaintexts[endpoint.id] = ()
        if not plaintexts[endpoint.id]:
            delivery.lease_until_ms = now + UNDECRYPTABLE_BACKOFF_MS
            continue
        jobs.append(
            Job(
                delivery_id=delivery.id,
                lease_token=token,
                attempts=delivery.attempts,
                deadline_ms=delivery.deadline_ms,
                livemode=delivery.livemode,
                event_id=event.id,
                endpoint_id=endpoint.id,
                merchant_id=delivery.merchant_id,
                url=endpoint.url,
                body=orjson.dumps(render_event(event)),
                secrets=plaintexts[endpoint.id],
                request_id=event.request_id,
            )
        )
    if dropped:
        for delivery in dropped:
            delivery.status, delivery.lease_until_ms, delivery.lease_token = CANCELED, None, None
        await adjust_pending(session, Counter(d.event_id for d in dropped))
    return jobs


def signing_secrets(
    config: WebhookConfig, endpoint: WebhookEndpoint, now_s: int
) -> tuple[str, ...]:
    current = config.keyring.decrypt(endpoint.secret_enc, endpoint.id)
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_enc and expires is not None and expires > now_s:
        return (current, config.keyring.decrypt(endpoint.previous_secret_enc, endpoint.id))
    return (current,)


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None = None
    snippet: str | None = None


async def record_outcomes(
    session: AsyncSession,
    config: WebhookConfig,
    results: list[tuple[Job, Outcome]],
    *,
    worker: str,
) -> list[str]:
    """Store attempts and move deliveries on; returns endpoints disabled for failing too long."""
    if not results:
        return []
    now = now_ms()
    now_s = now // 1000
    await session.execute(insert(WebhookAttempt), _attempt_rows(results, worker, now_s))
    await _mark_delivered(session, [(job, out) for job, out in results if out.ok], now_s)
    for job, out in results:
        if not out.ok:
            await _reschedule(session, config, job, out, now)
    healthy = {job.endpoint_id for job, out in results if out.ok}
    failing = {job.endpoint_id for job, out in results if not out.ok} - healthy
    return await _endpoint_health(session, config, healthy, failing, now_s)


def _attempt_rows(
    results: list[tuple[Job, Outcome]], worker: str, now_s: int
) -> list[dict[str, Any]]:
    return [
        {
            "id": new_id("wha"),
            "delivery_id": job.delivery_id,
            "event_id": job.event_id,
            "endpoint_id": job.endpoint_id,
            "merchant_id": job.merchant_id,
            "livemode": job.livemode,
            "attempt": job.attempts + 1,
            "succeeded": out.ok,
            "status_code": out.status_code,
            "latency_ms": out.latency_ms,
            "error": out.error,
            "response_snippet": out.snippet,
            "worker": worker,
            "created": now_s,
        }
        for job, out in results
    ]


async def _mark_delivered(
    session: AsyncSession, succeeded: list[tuple[Job, Outcome]], now_s: int
) -> None:
    """Succeeded deliveries (one UPDATE per status code) and their events' pending counts."""
    delivered: Counter[str] = Counter()
    by_code: dict[int | None, list[int]] = {}
    for job, out in succeeded:
        by_code.setdefault(out.status_code, []).append(job.delivery_id)
    for code, ids in by_code.items():
        done = await session.execute(
            update(D)
            .where(D.id.in_(ids), D.status.in_(COUNTED))
            .values(
                status=SUCCEEDED,
                attempts=D.attempts + 1,
                lease_until_ms=None,
                lease_token=None,
                delivered_at=now_s,
                last_status_code=code,
                last_error=None,
                updated=now_s,
            )
            .returning(D.event_id)
            .execution_options(synchronize_session=False)
        )
        delivered.update(event_id for (event_id,) in done.all())
    await adjust_pending(session, Counter({k: -v for k, v in delivered.items()}))


async def _reschedule(
    session: AsyncSession, config: WebhookConfig, job: Job, out: Outcome, now: int
) -> None:
    """A failed attempt: the next one on the schedule, or given up past the deadline."""
    attempts_done = job.attempts + 1
    next_ms = now + config.schedule(job.livemode).delay_ms(attempts_done)
    give_up = next_ms > job.deadline_ms
    if give_up:  # counted when decided (a rolled-back round may count it twice)
        metrics.WEBHOOK_DELIVERIES.labels("gave_up").inc()
    await session.execute(
        update(D)
        .where(D.id == job.delivery_id, D.lease_token == job.lease_token, D.status == PENDING)
        .values(
            status=FAILED if give_up else PENDING,
            attempts=attempts_done,
            next_attempt_ms=next_ms,
            lease_until_ms=None,
            lease_token=None,
            last_status_code=out.status_code,
            last_error=(out.error or f"HTTP {out.status_code}")[:255],
            updated=now // 1000,
        )
        .execution_options(synchronize_session=False)
    )


async def _endpoint_health(
    session: AsyncSession, config: WebhookConfig, healthy: set[str], failing: set[str], now_s: int
) -> list[str]:
    """Endpoints that answered are healthy again; those failing since too long are disabled."""
    if healthy:
        await session.execute(
            update(E)
            .where(E.id.in_(healthy), E.failing_since.is_not(None))
            .values(failing_since=None)
            .execution_options(synchronize_session=False)
        )
    if not failing:
        return []
    await session.execute(
        update(E)
        .where(E.id.in_(failing), E.failing_since.is_(None))
        .values(failing_since=now_s)
        .execution_options(synchronize_session=False)
    )
    stale = (
        await session.scalars(
            select(E).where(
                E.id.in_(failing),
                E.status == "enabled",
                E.failing_since <= now_s - config.disable_after_seconds,
            )
        )
    ).all()
    for endpoint in stale:
        await disable(session, endpoint, reason="failing")
    return [e.id for e in stale]


async def cancel_deliveries(
    session: AsyncSession, endpoint_id: str, statuses: tuple[str, ...] = (PENDING,)
) -> int:
    done = await session.execute(
        update(D)
        .where(D.endpoint_id == endpoint_id, D.status.in_(statuses))
        .values(status=CANCELED, lease_until_ms=None, lease_token=None)
        .returning(D.event_id, D.status)
        .execution_options(synchronize_session=False)
    )
    rows = done.all()
    await adjust_pending(session, Counter({k: -v for k, v in Counter(r[0] for r in rows).items()}))
    return len(rows)


async def disable(session: AsyncSession, endpoint: WebhookEndpoint, *, reason: str) -> None:
    """Stop deliveries to an endpoint; when the gateway did it, tell the merchant (an event)."""
    endpoint.status = "disabled"
    endpoint.disabled_reason = reason
    await session.flush()
    await cancel_deliveries(session, endpoint.id)
    if reason != "merchant":
        obj = render_endpoint(endpoint)
        obj["disabled_reason"] = reason
        events.record(
            session,
            merchant_id=endpoint.merchant_id,
            livemode=endpoint.livemode,
            type="webhook_endpoint.disabled",
            obj=obj,
            origin=SYSTEM,
        )
