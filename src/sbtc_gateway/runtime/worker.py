"""Periodic jobs (the expiry sweep, idempotency-key pruning) and webhook delivery.

Run by `sbtc-gateway worker`, or inside the API process in `dev`. Each job runs in its own
transaction and is safe to run from several workers at once (rows are locked and re-checked;
webhook deliveries are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from sbtc_gateway.idempotency import service as idempotency
from sbtc_gateway.ledger import reconcile as reconciliation
from sbtc_gateway.payments import service as payments
from sbtc_gateway.runtime.container import Gateway
from sbtc_gateway.webhooks.dispatcher import Dispatcher

log = structlog.get_logger(__name__)


async def run_once(state: Gateway) -> dict[str, int]:
    async with state.sessions.begin() as session:
        expired = await payments.expire_due(session)
    await state.after_commit(session)
    async with state.sessions.begin() as session:
        pruned = await idempotency.prune(session, state.settings.idempotency_retention_seconds)
    fees = await _distribute_fees(state)
    if expired or pruned or fees:
        log.info(
            "periodic jobs",
            expired_intents=expired,
            pruned_idempotency_keys=pruned,
            fee_distributions=fees,
        )
    return {
        "expired_intents": expired,
        "pruned_idempotency_keys": pruned,
        "fee_distributions": fees,
    }


async def _distribute_fees(state: Gateway) -> int:
    """With an operator key configured: send out the fees of paid test-network intents (and
    mainnet ones in live mode) in batches."""
    from sbtc_gateway.chain import PrivateKey, StacksApiClient, StacksBlockchainService, get_network
    from sbtc_gateway.payments.fees import FeeJob, distribute_fees

    settings = state.settings
    if settings.operator_key is None:
        return 0
    key = PrivateKey.from_hex(settings.operator_key.get_secret_value())
    runs: list[tuple[str, str, str, bool]] = [
        (settings.test_network, settings.test_stacks_api_url, settings.test_gateway_contract, False)
    ]
    if settings.live and settings.live_gateway_contract:
        runs.append(("mainnet", settings.live_stacks_api_url, settings.live_gateway_contract, True))
    sent = 0
    for network, url, contract, livemode in runs:
        async with StacksApiClient(url) as client:
            chain = StacksBlockchainService(client, get_network(network), key)
            job = FeeJob(contract, livemode, batch=settings.fee_batch_size)
            sent += await distribute_fees(state.sessions, chain, job, state.after_commit)
    return sent


async def reconcile_books(state: Gateway) -> list[reconciliation.Report]:
    """Compare the ledger with each served network's contract (metric
    `sbtc_ledger_difference_sats`, alert `LedgerDoesNotMatchChain`); differences are logged."""
    from sbtc_gateway.chain import StacksApiClient
    from sbtc_gateway.runtime.watcher import api_url, served_networks, watch_target

    reports = []
    for network in served_networks(state.settings):
        target = watch_target(state.settings, network)
        async with StacksApiClient(api_url(state.settings, network)) as client:
            report = await reconciliation.reconcile(
                state.sessions,
                client,
                network=network,
                contract_id=target.contract_id,
                livemode=target.livemode,
            )
        if not report.ok:
            log.warning("ledger does not match the chain", **report.as_dict())
        reports.append(report)
    return reports


async def run_periodic_tasks(state: Gateway, *, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    next_reconcile = 0.0
    while not stop.is_set():
        try:
            await run_once(state)
        except Exception:  # a failed sweep is retried next round; never kill the loop
            log.exception("periodic jobs failed")
        if time.monotonic() >= next_reconcile:
            next_reconcile = time.monotonic() + state.settings.reconcile_interval_seconds
            try:
                await reconcile_books(state)
            except Exception:  # an unreachable chain: the metric keeps its last value
                log.warning("reconciliation skipped", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=state.settings.sweep_interval_seconds)


async def run_worker(state: Gateway, *, stop: asyncio.Event | None = None) -> None:
    """Everything a worker does, until `stop` is set: periodic jobs and webhook delivery."""
    stop = stop or asyncio.Event()
    dispatcher = Dispatcher(state.sessions, state.settings)
    await asyncio.gather(run_periodic_tasks(state, stop=stop), dispatcher.run(stop))
