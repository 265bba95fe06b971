"""Helpers shared by the webhook tests: a running dispatcher and polling with deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import select

from sbtc_gateway.config import Settings
from sbtc_gateway.events.models import Event
from sbtc_gateway.webhooks.dispatcher import Dispatcher
from sbtc_gateway.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.conftest import Merchant


@contextlib.asynccontextmanager
async def dispatcher(app: Any, settings: Settings | None = None) -> AsyncIterator[Dispatcher]:
    gateway = app.state.gateway
    worker = Dispatcher(gateway.sessions, settings or gateway.settings)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield worker
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 60.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def create_endpoint(merchant: Merchant, url: str, events: str = "*", **extra: Any) -> Any:
    response = await merchant.post(
        "/v1/webhook_endpoints", {"url": url, "enabled_events[]": events, **extra}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def event_ids(app: Any, merchant_id: str) -> list[str]:
    async with app.state.gateway.sessions() as session:
        rows = await session.scalars(select(Event.id).where(Event.merchant_id == merchant_id))
        return list(rows.all())


async def deliveries(app: Any, endpoint_id: str) -> list[WebhookDelivery]:
    async with app.state.gateway.sessions() as session:
        rows = await session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        )
        return list(rows.all())


async def attempts(app: Any, endpoint_id: str) -> list[WebhookAttempt]:
    async with app.state.gateway.sessions() as session:
        rows = await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.endpoint_id == endpoint_id)
            .order_by(WebhookAttempt.id)
        )
        return list(rows.all())
