"""All SQL for events, scoped to (merchant, livemode)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.db.paging import created_filter, finish_page, page_query
from sbtc_gateway.events.models import Event


async def get(
    session: AsyncSession, merchant_id: str, livemode: bool, event_id: str
) -> Event | None:
    found: Event | None = await session.scalar(
        select(Event).where(
            Event.id == event_id, Event.merchant_id == merchant_id, Event.livemode == livemode
        )
    )
    return found


async def list_page(
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    *,
    type_prefix: str | None,
    types: Sequence[str],
    delivery_success: bool | None,
    created: Any,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
) -> tuple[list[Event], bool]:
    """A page of events, newest first. `type_prefix` matches `payment_intent.*`-style
    wildcards (given without the `*`); `types` is an exact list."""
    query = select(Event).where(Event.merchant_id == merchant_id, Event.livemode == livemode)
    if type_prefix is not None:
        query = query.where(Event.type.startswith(type_prefix))
    if types:
        query = query.where(Event.type.in_(list(types)))
    if delivery_success is True:
        query = query.where(Event.pending_webhooks == 0, Event.fanout_pending.is_(False))
    elif delivery_success is False:
        query = query.where(Event.pending_webhooks > 0)
    query = created_filter(query, Event.created, created)
    paged, reversed_ = page_query(
        query, Event.id, limit=limit, starting_after=starting_after, ending_before=ending_before
    )
    rows = (await session.scalars(paged)).all()
    return finish_page(rows, limit, reversed_)
