"""The delivery loop run by `sbtc-gateway worker` (and in-process by `dev`).

Each round: store finished attempts, fan out new events, claim due deliveries (at most
`webhook_endpoint_concurrency` in flight per endpoint, so one slow receiver cannot take every
slot), and start one task per claimed delivery. Nothing is kept only in memory: a result not yet
stored when the process dies is an expired lease, retried by whichever worker comes next.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.config import Settings
from sbtc_gateway.webhooks import delivery, queue
from sbtc_gateway.webhooks.queue import Job, Outcome
from sbtc_gateway.webhooks.settings import WebhookConfig

log = structlog.get_logger(__name__)


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.config = WebhookConfig.from_settings(settings)
        self.client = client
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.tasks: set[asyncio.Task[None]] = set()
        self.per_endpoint: dict[str, asyncio.Semaphore] = {}
        self.results: list[tuple[Job, Outcome]] = []
        self.wake = asyncio.Event()
        # The lease outlives the attempt (timeout) and the wait before its result is stored.
        timeout = settings.webhook_timeout_seconds
        self.lease_ms = int((timeout + max(5.0, timeout)) * 1000)
        self.delivered = 0

    async def run(self, stop: asyncio.Event) -> None:
        owned = self.client is None
        client = self.client or delivery.make_client(self.settings.webhook_concurrency)
        self.client = client
        try:
            while not stop.is_set():
                try:
                    busy = await self.step()
                except Exception:  # the database may be down: retry next round, never die
                    log.exception("webhook delivery round failed")
                    busy = False
                if busy:
                    await asyncio.sleep(0)
                    continue
                self.wake.clear()
                waiters = [
                    asyncio.ensure_future(stop.wait()),
                    asyncio.ensure_future(self.wake.wait()),
                ]
                _, pending = await asyncio.wait(
                    waiters,
                    timeout=self.settings.webhook_poll_interval_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for waiter in pending:
                    waiter.cancel()
            await self.drain()
        finally:
            if owned:
                await client.aclose()

    async def drain(self) -> None:
        """Let started attempts finish (bounded by their timeout) and store their results."""
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=self.settings.webhook_timeout_seconds + 5)
        with contextlib.suppress(Exception):
            await self.flush()

    async def step(self) -> bool:
        """One round; True when there is more to do at once."""
        flushed = await self.flush()
        async with self.sessions.begin() as session:
            fanned = await queue.fan_out(
                session, self.config, limit=self.settings.webhook_batch_size
            )
        capacity = self.settings.webhook_concurrency - len(self.tasks)
        claimed: list[Job] = []
        if capacity > 0:
            async with self.sessions.begin() as session:
                claimed = await queue.claim(
                    session,
                    self.config,
                    limit=min(capacity, self.settings.webhook_batch_size),
                    per_endpoint=self.settings.webhook_endpoint_concurrency,
                    lease_ms=self.lease_ms,
                )
        for job in claimed:
            task = asyncio.create_task(self._deliver(job))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return bool(fanned or claimed or flushed) or (capacity <= 0 and bool(self.results))

    async def flush(self) -> int:
        if not self.results:
            return 0
        batch, self.results = self.results, []
        try:
            async with self.sessions.begin() as session:
                disabled = await queue.record_outcomes(
                    session, self.config, batch, worker=self.name
                )
        except Exception:
            self.results = batch + self.results  # keep them for the next round (lease permitting)
            raise
        self.delivered += sum(1 for _, out in batch if out.ok)
        for endpoint_id in disabled:
            log.warning("webhook endpoint disabled after failing too long", endpoint=endpoint_id)
        return len(batch)

    async def _deliver(self, job: Job) -> None:
        limit = self.settings.webhook_endpoint_concurrency
        semaphore = self.per_endpoint.setdefault(job.endpoint_id, asyncio.Semaphore(limit))
        assert self.client is not None
        async with semaphore:
            outcome = await delivery.attempt(
                self.client,
                job,
                timeout_seconds=self.settings.webhook_timeout_seconds,
                max_response_bytes=self.settings.webhook_max_response_bytes,
                public_only=self.config.public_only,
            )
        self.results.append((job, outcome))
        self.wake.set()
