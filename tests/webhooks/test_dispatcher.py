"""Real `sbtc-gateway worker` processes: SIGKILL mid-delivery and restart; two workers at once.

After recovery every event has been delivered at least once (none lost); duplicates (deliveries
in flight when the worker died, re-sent once their lease expired) are counted and printed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sbtc_gateway.config import Settings
from tests.conftest import WEBHOOK_KEYS, Merchant
from tests.webhooks.helpers import create_endpoint, deliveries, event_ids, eventually
from tests.webhooks.receiver import Receiver

WORKER = Path(sys.executable).parent / "sbtc-gateway"


def _env(settings: Settings, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SBTC_DATABASE_URL": settings.resolved_database_url,
        "SBTC_DATA_DIR": str(data_dir),
        "SBTC_API_KEY_SECRET": settings.secret("api_key_secret"),
        "SBTC_GATEWAY_SIGNING_KEY": settings.secret("gateway_signing_key"),
        "SBTC_WEBHOOK_ENCRYPTION_KEYS": WEBHOOK_KEYS,
        "SBTC_WEBHOOK_TIMEOUT_SECONDS": "2",
        "SBTC_WEBHOOK_POLL_INTERVAL_SECONDS": "0.05",
        "SBTC_WEBHOOK_ENDPOINT_CONCURRENCY": "4",
        "SBTC_WEBHOOK_TEST_RETRY_BASE_SECONDS": "0.2",
        "SBTC_WEBHOOK_TEST_RETRY_CAP_SECONDS": "1",
        "SBTC_WEBHOOK_TEST_RETRY_WINDOW_SECONDS": "300",
        "SBTC_SWEEP_INTERVAL_SECONDS": "30",
        "SBTC_LOG_JSON": "false",
        "SBTC_LOG_LEVEL": "WARNING",
    }


class Workers:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [str(WORKER), "worker"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    group = Workers(_env(settings, tmp_path))
    try:
        yield group
    finally:
        group.stop_all()


async def _events(merchant: Merchant, intents: int) -> None:
    for _ in range(intents):
        pi = await merchant.create_intent()
        assert (await merchant.post(f"/v1/payment_intents/{pi['id']}/cancel")).status_code == 200


def _report(
    name: str, expected: set[str], receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> int:
    acked = receiver.acked()
    lost = expected - set(acked)
    # A duplicate is any request for an event the receiver had already seen (acked or not).
    duplicates = sum(n - 1 for n in receiver.received().values())
    with capsys.disabled():
        print(
            f"\n[webhooks {name}] events={len(expected)} delivered={len(set(acked) & expected)} "
            f"lost={len(lost)} duplicates={duplicates} requests={len(receiver.requests)}"
        )
    assert not lost
    return duplicates


async def test_sigkill_mid_delivery_then_restart(
    app: Any, merchant: Merchant, workers: Workers, capsys: pytest.CaptureFixture[str]
) -> None:
    with Receiver() as receiver:
        receiver.state.mode, receiver.state.slow_seconds = "slow", 0.3  # inside the 2 s timeout
        endpoint = await create_endpoint(merchant, receiver.url)
        await _events(merchant, 20)
        expected = set(await event_ids(app, merchant.id))
        first = workers.start()

        async def some_in_flight() -> bool:
            return len(receiver.requests) >= 6

        await eventually(some_in_flight, what="deliveries in flight")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        pending = [d for d in await deliveries(app, endpoint["id"]) if d.status != "succeeded"]
        assert pending, "the kill came too late to interrupt anything"
        receiver.state.mode = "ok"
        workers.start()
        if "postgresql" in app.state.gateway.settings.resolved_database_url:
            workers.start()  # any number of workers on PostgreSQL

        async def all_delivered() -> bool:
            rows = await deliveries(app, endpoint["id"])
            return len(rows) == len(expected) and all(r.status == "succeeded" for r in rows)

        await eventually(all_delivered, within=120, what="recovery after SIGKILL")
        workers.stop_all()
    _report("SIGKILL+restart", expected, receiver, capsys)


async def test_two_workers_share_the_queue(
    app: Any, merchant: Merchant, workers: Workers, capsys: pytest.CaptureFixture[str]
) -> None:
    if "postgresql" not in app.state.gateway.settings.resolved_database_url:
        pytest.skip("one worker on SQLite (single writer); several on PostgreSQL")
    with Receiver() as receiver:
        endpoint = await create_endpoint(merchant, receiver.url)
        await _events(merchant, 50)
        expected = set(await event_ids(app, merchant.id))
        workers.start()
        workers.start()

        async def all_delivered() -> bool:
            rows = await deliveries(app, endpoint["id"])
            return len(rows) == len(expected) and all(r.status == "succeeded" for r in rows)

        await eventually(all_delivered, within=120, what="two workers to drain the queue")
        workers.stop_all()
        rows = await deliveries(app, endpoint["id"])
    duplicates = _report("two workers", expected, receiver, capsys)
    assert duplicates == 0  # SKIP LOCKED claims are exclusive while the lease holds
    assert all(r.attempts == 1 for r in rows)
