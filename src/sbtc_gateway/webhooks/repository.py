"""SQL for webhook endpoints and the delivery log. Every query is scoped to (merchant, livemode)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.db.paging import finish_page, page_query
from sbtc_gateway.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

E = WebhookEndpoint


async def get(
    session: AsyncSession, merchant_id: str, livemode: bool, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpoint | None:
    query = select(E).where(
        E.id == endpoint_id,
        E.merchant_id == merchant_id,
        E.livemode == livemode,
        E.deleted_at.is_(None),
    )
    if lock:
        query = query.with_for_update()
    result: WebhookEndpoint | None = await session.scalar(query)
    return result


async def count(session: AsyncSession, merchant_id: str, livemode: bool) -> int:
    n = await session.scalar(
        select(func.count())
        .select_from(E)
        .where(E.merchant_id == merchant_id, E.livemode == livemode, E.deleted_at.is_(None))
    )
    return int(n or 0)


async def list_page(
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    *,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
) -> tuple[list[WebhookEndpoint], bool]:
    query = select(E).where(
        E.merchant_id == merchant_id, E.livemode == livemode, E.deleted_at.is_(None)
    )
    paged, reversed_ = page_query(
        query, E.id, limit=limit, starting_after=starting_after, ending_before=ending_before
    )
    return finish_page((await session.scalars(paged)).all(), limit, reversed_)


async def list_attempts(
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    endpoint_id: str,
    *,
    event_id: str | None,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
) -> tuple[list[WebhookAttempt], bool]:
    A = WebhookAttempt
    query = select(A).where(
        A.endpoint_id == endpoint_id, A.merchant_id == merchant_id, A.livemode == livemode
    )
    if event_id is not None:
        query = query.where(A.event_id == event_id)
    paged, reversed_ = page_query(
        query, A.id, limit=limit, starting_after=starting_after, ending_before=ending_before
    )
    return finish_page((await session.scalars(paged)).all(), limit, reversed_)


async def delivery(
    session: AsyncSession, event_id: str, endpoint_id: str, *, lock: bool = False
) -> WebhookDelivery | None:
    query = select(WebhookDelivery).where(
        WebhookDelivery.event_id == event_id, WebhookDelivery.endpoint_id == endpoint_id
    )
    if lock:
        query = query.with_for_update()
    result: WebhookDelivery | None = await session.scalar(query)
    return result
