"""Periodic jobs (the expiry sweep, idempotency-key pruning) and webhook delivery.

Run by `sbtc-gateway worker`, or inside the API process in `dev`. Each job runs in its own
transaction and is safe to run from several workers at once (rows are locked and re-checked;
webhook deliveries are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import structlog

from sbtc_gateway.idempotency import service as idempotency
from sbtc_gateway.payments import service as payments
from sbtc_gateway.webhooks.dispatcher import Dispatcher

if TYPE_CHECKING:
    from sbtc_gateway.api.state import GatewayState

log = structlog.get_logger(__name__)


async def run_once(state: GatewayState) -> dict[str, int]:
    async with state.sessions.begin() as session:
        expired = await payments.expire_due(session)
    await state.after_commit(session)
    async with state.sessions.begin() as session:
        pruned = await idempotency.prune(session, state.settings.idempotency_retention_seconds)
    if expired or pruned:
        log.info("periodic jobs", expired_intents=expired, pruned_idempotency_keys=pruned)
    return {"expired_intents": expired, "pruned_idempotency_keys": pruned}


async def run_periodic_tasks(state: GatewayState, *, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            await run_once(state)
        except Exception:  # a failed sweep is retried next round; never kill the loop
            log.exception("periodic jobs failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=state.settings.sweep_interval_seconds)


async def run_worker(state: GatewayState, *, stop: asyncio.Event | None = None) -> None:
    """Everything a worker does, until `stop` is set: periodic jobs and webhook delivery."""
    stop = stop or asyncio.Event()
    dispatcher = Dispatcher(state.sessions, state.settings)
    await asyncio.gather(run_periodic_tasks(state, stop=stop), dispatcher.run(stop))
