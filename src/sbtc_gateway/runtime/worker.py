"""Periodic jobs (the expiry sweep, idempotency-key pruning, the operator outbox) and webhook
delivery.

Run by `sbtc-gateway worker`, or inside the API process in `dev`. Each job runs in its own
transaction and is safe to run from several workers at once (rows are locked and re-checked;
webhook deliveries and operator calls are claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time

import structlog

from sbtc_gateway.analytics import rollup
from sbtc_gateway.idempotency import service as idempotency
from sbtc_gateway.ledger import reconcile as reconciliation
from sbtc_gateway.payments import service as payments
from sbtc_gateway.reporting import service as reporting
from sbtc_gateway.runtime.container import Gateway
from sbtc_gateway.runtime.operations import Operations
from sbtc_gateway.webhooks.dispatcher import Dispatcher

log = structlog.get_logger(__name__)
# Who holds an operator call's lease (ADR 0012): this process.
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


async def run_once(state: Gateway) -> dict[str, int]:
    async with state.sessions.begin() as session:
        expired = await payments.expire_due(session, cfg=state.payments)
    await state.after_commit(session)
    async with state.sessions.begin() as session:
        pruned = await idempotency.prune(session, state.settings.idempotency_retention_seconds)
    calls = await _operator_calls(state)
    calls["receipt_emails_sent"] = await send_receipts(state)
    if expired or pruned or any(calls.values()):
        log.info("periodic jobs", expired_intents=expired, pruned_idempotency_keys=pruned, **calls)
    return {"expired_intents": expired, "pruned_idempotency_keys": pruned, **calls}


async def send_receipts(state: Gateway) -> int:
    """With `SBTC_SMTP_URL`: receipt e-mails for new succeeded payments with a
    `receipt_email` (receipts/service.py). Claimed in one transaction, sent after it commits,
    each outcome recorded in its own."""
    import smtplib

    from sbtc_gateway.receipts import mailer
    from sbtc_gateway.receipts import service as receipts

    if state.settings.smtp_url is None:
        return 0
    target = mailer.SmtpTarget.parse(state.settings.smtp_url.get_secret_value())
    base = state.settings.base_url

    def receipt_url(intent_id: str) -> str:
        return f"{base}/receipts/{intent_id}#{state.payments.client_secret(intent_id)}"

    now = int(time.time())
    async with state.sessions.begin() as session:
        await receipts.scan(session, now=now)
        claimed = await receipts.claim(session, now=now)
    sent = 0
    for item in claimed:
        mail = receipts.message(item, sender=state.settings.smtp_from, receipt_url=receipt_url)
        error: str | None = None
        try:
            await mailer.send(target, mail)
            sent += 1
        except (OSError, smtplib.SMTPException) as exc:  # retried later, with a backoff
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("receipt e-mail not sent", payment_intent=item.intent_id, error=error)
        async with state.sessions.begin() as session:
            await receipts.record(session, item.event_id, error, now=int(time.time()))
    return sent


async def _operator_calls(state: Gateway) -> dict[str, int]:
    """With an operator key configured: queue the fee calls of paid intents, then sign, send
    and follow the operator outbox of the test network (and mainnet's in live mode)."""
    from sbtc_gateway.chain import PrivateKey, StacksApiClient, get_network
    from sbtc_gateway.operator import worker as operator
    from sbtc_gateway.payments import fees

    settings = state.settings
    counts = {"fee_calls_queued": 0, "operator_calls_broadcast": 0}
    if settings.operator_key is None:
        return counts
    key = PrivateKey.from_hex(settings.operator_key.get_secret_value())
    config = operator.OperatorConfig(
        batch=settings.fee_batch_size,
        lease_seconds=settings.operator_lease_seconds,
        recheck_seconds=settings.operator_recheck_seconds,
    )
    runs: list[tuple[str, str, bool]] = [
        (settings.test_network, settings.test_stacks_api_url, False)
    ]
    if settings.live and settings.live_gateway_contract:
        runs.append(("mainnet", settings.live_stacks_api_url, True))
    for network, url, livemode in runs:
        async with state.sessions.begin() as session:
            counts["fee_calls_queued"] += await fees.enqueue_fee_calls(
                session, state.payments, livemode=livemode, batch=settings.fee_batch_size
            )
        async with StacksApiClient(url) as client:
            result = await operator.run_once(
                state.sessions,
                client,
                operator.OperatorAccount(get_network(network), key),
                worker_id=WORKER_ID,
                config=config,
                on_change=fees.record_call,
                after_commit=state.after_commit,
            )
        counts["operator_calls_broadcast"] += result.broadcast
    return counts


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
                previous_contracts=target.previous_contracts,
            )
        if not report.ok:
            log.warning("ledger does not match the chain", **report.as_dict())
        reports.append(report)
    return reports


async def run_periodic_tasks(state: Gateway, *, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    next_reconcile = 0.0
    operations = Operations(state)
    while not stop.is_set():
        try:
            await run_once(state)
        except Exception:  # a failed sweep is retried next round; never kill the loop
            log.exception("periodic jobs failed")
        try:
            await operations.run()
        except Exception:
            log.warning("database operations step failed", exc_info=True)
        if time.monotonic() >= next_reconcile:
            next_reconcile = time.monotonic() + state.settings.reconcile_interval_seconds
            try:
                await reconcile_books(state)
            except Exception:  # an unreachable chain: the metric keeps its last value
                log.warning("reconciliation skipped", exc_info=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=state.settings.sweep_interval_seconds)


async def consume_analytics(state: Gateway) -> int:
    """Fold the events outbox into the analytics tables until it is empty (ADR 0016)."""
    total = 0
    while True:
        async with state.sessions.begin() as session:
            n = await rollup.consume_once(session, batch=state.settings.analytics_batch_size)
        total += n
        if n < state.settings.analytics_batch_size:
            return total


async def run_analytics(state: Gateway, *, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await consume_analytics(state)
        except Exception:  # e.g. the database away: the batch stays pending, retried next time
            log.exception("analytics rollup failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                stop.wait(), timeout=state.settings.analytics_poll_interval_seconds
            )


async def generate_reports(state: Gateway) -> int:
    """Generate every pending report run (each claimed with a lease)."""
    done = 0
    while await reporting.run_once(state.sessions, state.analytics_sessions, state.reports):
        done += 1
    return done


async def run_reports(state: Gateway, *, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await generate_reports(state)
        except Exception:  # the run keeps its lease until it ends, then is retried
            log.exception("report generation failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                stop.wait(), timeout=state.settings.analytics_poll_interval_seconds
            )


async def run_worker(state: Gateway, *, stop: asyncio.Event | None = None) -> None:
    """Everything a worker does, until `stop` is set: periodic jobs, webhook delivery, the
    analytics rollup and report runs."""
    stop = stop or asyncio.Event()
    dispatcher = Dispatcher(state.sessions, state.settings)
    await asyncio.gather(
        run_periodic_tasks(state, stop=stop),
        dispatcher.run(stop),
        run_analytics(state, stop=stop),
        run_reports(state, stop=stop),
    )
