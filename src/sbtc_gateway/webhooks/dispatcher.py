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
import time

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.config import Settings
from sbtc_gateway.observability import metrics
from sbtc_gateway.webhooks import delivery, queue
from sbtc_gateway.webhooks.queue import Job, Outcome
from sbtc_gateway.webhooks.settings import WebhookConfig

log = structlog.get_logger(__name__)
MAX_CLIENTS = 256  # endpoints with an open connection pool (least recently used closed first)
DEPTH_INTERVAL_SECONDS = 15.0  # how often sbtc_outbox_depth is re-counted


def _outcome_label(outcome: Outcome) -> str:
    if outcome.ok:
        return "succeeded"
    return "timeout" if outcome.error == "timeout" else "failed"


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.config = WebhookConfig.from_settings(settings)
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.closing: set[asyncio.Task[None]] = set()
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.tasks: set[asyncio.Task[None]] = set()
        self.per_endpoint: dict[str, asyncio.Semaphore] = {}
        self.results: list[tuple[Job, Outcome]] = []
        self.wake = asyncio.Event()
        # The lease outlives the attempt (timeout) and the wait before its result is stored.
        timeout = settings.webhook_timeout_seconds
        self.lease_ms = int((timeout + max(5.0, timeout)) * 1000)
        self.delivered = 0
        self.chunk = max(1, settings.webhook_concurrency // 4)
        self.fanout_more = False
        self.next_fanout = 0.0
        self.next_depth = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        poll = self.settings.webhook_poll_interval_seconds
        try:
            while not stop.is_set():
                try:
                    more = await self.step()
                except Exception:  # the database may be down: retry next round, never die
                    log.exception("webhook delivery round failed")
                    more = False
                if more:
                    await asyncio.sleep(0)
                    continue
                waiters = [
                    asyncio.ensure_future(stop.wait()),
                    asyncio.ensure_future(self.wake.wait()),
                ]
                _, pending = await asyncio.wait(
                    waiters,
                    timeout=min(poll, 0.05) if self.tasks else poll,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for waiter in pending:
                    waiter.cancel()
            await self.drain()
        finally:
            for client in self.clients.values():
                await client.aclose()
            self.clients.clear()
            if self.closing:
                await asyncio.wait(self.closing)

    async def drain(self) -> None:
        """Let started attempts finish (bounded by their timeout) and store their results."""
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=self.settings.webhook_timeout_seconds + 5)
        with contextlib.suppress(Exception):
            await self.flush()

    async def step(self) -> bool:
        """One round in one transaction: store results, fan out, claim.

        Returns True when more work is ready at once.
        """
        self.wake.clear()
        batch_size = self.settings.webhook_batch_size
        results, self.results = self.results, []
        now = time.monotonic()
        fan = self.fanout_more or now >= self.next_fanout
        limit = min(self.settings.webhook_concurrency - len(self.tasks), batch_size)
        want = limit >= self.chunk or (limit > 0 and len(results) >= len(self.tasks))
        if not (results or fan or want):
            return False
        fanned, claimed, disabled = 0, [], []
        try:
            async with self.sessions.begin() as session:
                if results:
                    disabled = await queue.record_outcomes(
                        session, self.config, results, worker=self.name
                    )
                if fan:
                    fanned = await queue.fan_out(session, self.config, limit=batch_size)
                if want or fanned:
                    claimed = await queue.claim(
                        session,
                        self.config,
                        limit=limit,
                        per_endpoint=self.settings.webhook_endpoint_concurrency,
                        lease_ms=self.lease_ms,
                    )
        except Exception:
            self.results = results + self.results  # stored next round (the lease permitting)
            raise
        if fan:
            self.fanout_more = fanned >= batch_size
            self.next_fanout = now + self.settings.webhook_poll_interval_seconds
        if now >= self.next_depth:
            self.next_depth = now + DEPTH_INTERVAL_SECONDS
            async with self.sessions() as session:
                metrics.OUTBOX_DEPTH.set(await queue.depth(session))
        self.delivered += sum(1 for _, out in results if out.ok)
        for endpoint_id in disabled:
            log.warning("webhook endpoint disabled after failing too long", endpoint=endpoint_id)
        for job in claimed:
            task = asyncio.create_task(self._deliver(job))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return self.fanout_more or (len(claimed) == limit > 0 and not results)

    async def flush(self) -> None:
        """Store finished attempts now (on shutdown)."""
        results, self.results = self.results, []
        if results:
            async with self.sessions.begin() as session:
                await queue.record_outcomes(session, self.config, results, worker=self.name)

    def _client_for(self, endpoint_id: str) -> httpx.AsyncClient:
        """One small connection pool per endpoint, sized to its concurrency limit."""
        client = self.clients.pop(endpoint_id, None)
        if client is None:
            client = delivery.make_client(self.settings.webhook_endpoint_concurrency)
        self.clients[endpoint_id] = client  # most recently used last
        while len(self.clients) > MAX_CLIENTS:
            oldest = next(iter(self.clients))
            task = asyncio.create_task(self.clients.pop(oldest).aclose())
            self.closing.add(task)
            task.add_done_callback(self.closing.discard)
        return client

    async def _deliver(self, job: Job) -> None:
        limit = self.settings.webhook_endpoint_concurrency
        semaphore = self.per_endpoint.setdefault(job.endpoint_id, asyncio.Semaphore(limit))
        async with semaphore:
            outcome = await delivery.attempt(
                self._client_for(job.endpoint_id),
                job,
                timeout_seconds=self.settings.webhook_timeout_seconds,
                max_response_bytes=self.settings.webhook_max_response_bytes,
                public_only=self.config.public_only,
            )
        self.results.append((job, outcome))
        label = _outcome_label(outcome)
        metrics.WEBHOOK_DELIVERIES.labels(label).inc()
        log.info(
            "webhook attempt",
            request_id=job.request_id,  # the request that caused the event, if any
            event_id=job.event_id,
            endpoint=job.endpoint_id,
            attempt=job.attempts + 1,
            outcome=label,
            status=outcome.status_code,
            latency_ms=outcome.latency_ms,
        )
        metrics.WEBHOOK_LATENCY.observe(outcome.latency_ms / 1000)
        # Wake the loop once a chunk of slots is free (or nothing else is running): results are
        # stored, and slots refilled, in batches rather than one transaction per delivery.
        if len(self.results) >= self.chunk or len(self.results) >= len(self.tasks):
            self.wake.set()
