"""All SQL of receipt e-mails."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.events.models import Event
from sbtc_gateway.receipts.models import ReceiptEmail

SUCCEEDED = "payment_intent.succeeded"


async def unseen_events(session: AsyncSession, since: int, limit: int) -> Sequence[Event]:
    """Succeeded events from `since` on that have no receipt row yet."""
    query = (
        select(Event)
        .outerjoin(ReceiptEmail, ReceiptEmail.event_id == Event.id)
        .where(Event.type == SUCCEEDED, Event.created >= since, ReceiptEmail.event_id.is_(None))
        .order_by(Event.id)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def claim_due(
    session: AsyncSession, now: int, limit: int
) -> Sequence[tuple[ReceiptEmail, Event]]:
    """Pending rows due now whose lease (if any) ran out, locked (`SKIP LOCKED` on PostgreSQL:
    concurrent workers take different rows)."""
    query = (
        select(ReceiptEmail, Event)
        .join(Event, Event.id == ReceiptEmail.event_id)
        .where(
            ReceiptEmail.status == "pending",
            ReceiptEmail.next_attempt_at <= now,
            or_(ReceiptEmail.lease_until.is_(None), ReceiptEmail.lease_until < now),
        )
        .order_by(ReceiptEmail.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=ReceiptEmail)
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def get(session: AsyncSession, event_id: str) -> ReceiptEmail | None:
    return await session.get(ReceiptEmail, event_id, with_for_update=True)
