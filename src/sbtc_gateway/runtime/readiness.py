"""`/ready`: can this replica serve? The database, Redis and the Stacks API of each network.

Only the database decides 503. Redis down or a Stacks API down is `degraded`, still 200: the
gateway serves on its in-process fallbacks without Redis, and without the chain API it still
creates, lists and cancels intents (confirmations answer 503 `chain_unavailable` until it is
back). Taking every replica out of the load balancer for either would turn a degradation into
an outage. The chain check reuses the tip cache that confirmations use, so a probe every few
seconds costs at most one Stacks API call per cache period, and is bounded by a short timeout.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from sqlalchemy import text

from sbtc_gateway.observability import metrics
from sbtc_gateway.runtime.container import Gateway
from sbtc_gateway.runtime.watcher import served_networks

log = structlog.get_logger(__name__)

CHAIN_TIMEOUT_SECONDS = 3.0


async def _chain(state: Gateway, network: str) -> dict[str, Any]:
    tips = state.payments.tips
    if tips is None:
        return {"status": "disabled"}
    try:
        height = await asyncio.wait_for(tips.height(network), CHAIN_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure means "not usable now"; the kind goes to the log
        log.warning("readiness: stacks api down", network=network, error=type(exc).__name__)
        metrics.CHAIN_API_UP.labels(network).set(0)
        return {"status": "down"}
    metrics.CHAIN_API_UP.labels(network).set(1)
    return {"status": "up", "tip_height": height}


async def _database(state: Gateway) -> bool:
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        metrics.DB_ERRORS.labels("ready").inc()
        log.warning("readiness: database down", error=type(exc).__name__)
        return False
    return True


async def readiness(state: Gateway) -> tuple[int, dict[str, Any]]:
    networks = served_networks(state.settings)
    database, redis, *chains = await asyncio.gather(
        _database(state),
        state.shared.redis_status(),
        *(_chain(state, network) for network in networks),
    )
    chain = dict(zip(networks, chains, strict=True))
    body: dict[str, Any] = {
        "status": "ok",
        "database": "up" if database else "down",
        "redis": redis,
        "chain": chain,
    }
    if not database:
        body["status"] = "unavailable"
        return 503, body
    if redis == "down" or any(c["status"] == "down" for c in chain.values()):
        body["status"] = "degraded"
    return 200, body
