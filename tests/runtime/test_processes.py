"""Metrics of real processes: `api --workers 2` adds up both workers' samples on every scrape,
and the `watcher` serves its own `/metrics` (chain lag) on `--metrics-port`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

CLI = [sys.executable, "-m", "sbtc_gateway.cli"]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SBTC_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        SBTC_DATA_DIR=str(data_dir),
        SBTC_LOG_JSON="true",
        SBTC_TEST_STACKS_API_URL=os.environ["STACKS_DEVNET_URL"],
    )
    return env


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = _env(tmp_path)
    subprocess.run([*CLI, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    return env


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the process exited"
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def _sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[len(name) : line.index("}") + 1]))
        if found == labels:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name}{labels}")


def test_two_api_workers_report_the_sum_of_both(
    env: dict[str, str], tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    api = subprocess.Popen(
        [*CLI, "api", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes.append(api)
    base = f"http://127.0.0.1:{port}"
    _wait_for(f"{base}/health", api)
    requests = 60
    for _ in range(requests):  # a new connection each time: the workers take turns accepting
        assert httpx.get(f"{base}/health", headers={"Connection": "close"}).status_code == 200
    counts = set()
    for _ in range(6):
        text = httpx.get(f"{base}/metrics", headers={"Connection": "close"}).text
        counts.add(
            _sample(
                text,
                "sbtc_http_request_duration_seconds_count",
                method="GET",
                route="/health",
                status="200",
            )
        )
    # whichever worker answers the scrape, it reports every request, including the readiness
    # polls made while waiting for start-up (at least one)
    assert len(counts) == 1
    assert counts.pop() >= requests + 1
    samples = tmp_path / "prometheus-multiproc"
    pids = {re.sub(r"\D", "", f.stem.rsplit("_", 1)[-1]) for f in samples.glob("*.db")}
    assert len(pids) >= 2, sorted(samples.iterdir())


def test_watcher_serves_chain_lag_on_its_metrics_port(
    env: dict[str, str], processes: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    watcher = subprocess.Popen(
        [*CLI, "watcher", "--metrics-port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    processes.append(watcher)
    url = f"http://127.0.0.1:{port}/metrics"
    _wait_for(url, watcher)
    deadline = time.monotonic() + 30
    while True:
        text = httpx.get(url).text
        if 'sbtc_chain_lag_blocks{network="devnet"}' in text:
            break
        assert time.monotonic() < deadline, "the watcher never reported its lag"
        time.sleep(0.2)
    lag = _sample(text, "sbtc_chain_lag_blocks", network="devnet")
    assert 0 <= lag <= 1  # the watcher follows the devnet's tip
