"""`/ready`: can this replica serve? The database, Redis and the Stacks API of each network.

Only the database decides 503. Redis down or a Stacks API down is `degraded`, still 200: the
gateway serves on its in-process fallbacks without Redis, and without the chain API it still
creates, lists and cancels intents (confirmations answer 503 `chain_unavailable` until it is
back). Taking every replica out of the load balancer for either would turn a degradation into
an outage. The chain check reuses the caches that confirmations use, so a probe every few
seconds costs at most two Stacks API calls per cache period, and is bounded by a short timeout.

Each network also reports `gateway_key`: whether the payment contract accepts the key this
gateway signs terms with (`ok`; `overlap` while it is the key a planned rotation replaced;
`mismatch` when it does not, e.g. nobody set it yet; `unknown` when the contract could not
be read) and `paused`. A mismatch or a pause is `degraded` too: confirmations are refused
(`gateway_key_mismatch`, `contract_paused`) until the operator fixes it.
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
    return {"status": "up", "tip_height": height, **await _contract(state, network)}


async def _contract(state: Gateway, network: str) -> dict[str, Any]:
    """The payment contract's key check and pause flag, as a confirmation reads them."""
    payments = state.payments
    contract = payments.contract(network == "mainnet")
    if payments.tips is None or payments.signing_key is None or contract is None:
        return {"gateway_key": "unknown"}
    try:
        facts = await asyncio.wait_for(
            payments.tips.contract(network, contract), CHAIN_TIMEOUT_SECONDS
        )
    except Exception as exc:  # a contract that cannot be read: the kind goes to the log
        log.warning("readiness: contract unreadable", network=network, error=type(exc).__name__)
        return {"contract": contract, "gateway_key": "unknown"}
    ok, until = facts.key_status(payments.signing_key.public_key)
    key = "mismatch" if not ok else ("ok" if until is None else "overlap")
    if key == "mismatch":
        log.warning("readiness: the contract does not accept this gateway's key", network=network)
    return {"contract": contract, "gateway_key": key, "paused": facts.paused}


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
    unusable = any(
        c["status"] == "down" or c.get("gateway_key") == "mismatch" or c.get("paused")
        for c in chain.values()
    )
    if redis == "down" or unusable:
        body["status"] = "degraded"
    return 200, body
