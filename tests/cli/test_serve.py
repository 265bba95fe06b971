"""`sbtc-gateway dev`: it stops the devnet it started when it is stopped, by SIGTERM (a service
manager, `kill`) as by Ctrl-C: nothing is left listening. Its devnet keeps its chain in the data
directory, so dev stopped and started again continues the same chain (nothing moves, no event is
written again); with the devnet's folder wiped, it says so in plain words and reverses nothing.
It makes the devnet's contract accept the gateway's key, on a devnet it did not start too
(issue 13), or says exactly why it cannot."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from sbtc_gateway.chain import PrivateKey
from sbtc_gateway.cli.serve import _dev_devnet
from sbtc_gateway.devnet import DevnetProcess
from tests.chain_fixtures import CHAIN_MARKS, CONTRACT, DEADLINE, ChainEnv, prepare_chain_env
from tests.conftest import free_port, make_settings
from tests.runtime.test_processes import CLI, _env, _wait_for

KEY = "33" * 32


def on_the_devnet(test: Callable[..., Any]) -> Callable[..., Any]:
    """The chain tests' marks, on one test (the signal tests start their own devnet)."""
    for mark in reversed(CHAIN_MARKS):
        test = mark(test)
    return test


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_dev_stops_its_devnet(tmp_path: Path, stop: signal.Signals) -> None:
    api_port, chain_port = free_port(), free_port()
    env = _env(tmp_path) | {"SBTC_TEST_STACKS_API_URL": f"http://127.0.0.1:{chain_port}"}
    dev = subprocess.Popen(
        [*CLI, "dev", "--port", str(api_port), "--data-dir", str(tmp_path)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{api_port}/health", dev)
        assert _listening(chain_port), "dev did not start its devnet"
        dev.send_signal(stop)
        dev.wait(60)
        deadline = time.monotonic() + 20
        while _listening(chain_port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _listening(chain_port), "the devnet outlived dev"
    finally:
        if dev.poll() is None:
            dev.kill()
        # a devnet left behind by a failure runs in its own session: find it by its port
        subprocess.run(["pkill", "-f", f"main.mjs --port {chain_port} "], check=False)


# --- dev on one data directory, stopped and started again ---------------------------------------


@dataclass
class Dev:
    """A `dev` process on a data directory, with its own devnet on `chain_port`."""

    data_dir: Path
    api_port: int
    chain_port: int
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def chain(self) -> str:
        return f"http://127.0.0.1:{self.chain_port}"

    @property
    def output(self) -> Path:
        return self.data_dir.parent / f"dev-{self.starts}.log"

    def start(self) -> str:
        """Start dev; returns what it printed until it served (its banner)."""
        self.starts += 1
        env = _env(self.data_dir) | {
            "SBTC_TEST_STACKS_API_URL": self.chain,
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("SBTC_LOG_JSON")
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [*CLI, "dev", "--port", str(self.api_port), "--data-dir", str(self.data_dir)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for(f"{self.api}/health", self.process)
        return self.output.read_text()

    def refused_rounds(self, *, at_least: int) -> int:
        """The watcher's refused rounds (`sbtc_chain_refused_rounds_total`), once there are
        `at_least` that many."""
        deadline = time.monotonic() + DEADLINE
        while True:
            text = httpx.get(f"{self.api}/metrics", timeout=10).text
            found = [
                float(line.rsplit(" ", 1)[1])
                for line in text.splitlines()
                if line.startswith('sbtc_chain_refused_rounds_total{network="devnet"}')
            ]
            if found and found[0] >= at_least:
                return int(found[0])
            assert time.monotonic() < deadline, f"{at_least} refused rounds never came: {found}"
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        # a devnet left behind by a failure: the pid its state folder names (started by us)
        lock = self.data_dir / "devnet" / "devnet.lock"
        if lock.exists():
            with contextlib.suppress(ValueError, ProcessLookupError, PermissionError):
                os.kill(int(lock.read_text().strip()), signal.SIGKILL)


@dataclass
class Shop:
    dev: Dev
    env: ChainEnv
    key: str

    def call(self, method: str, path: str, **data: Any) -> dict[str, Any]:
        response = httpx.request(
            method, f"{self.dev.api}{path}", data=data or None, auth=(self.key, ""), timeout=30
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def paid(self) -> dict[str, Any]:
        """An intent paid by the devnet's wallet, once the watcher says it succeeded and the
        operator has distributed its fee (after which nothing changes it)."""
        pi = self.call(
            "POST",
            "/v1/payment_intents",
            amount="25000",
            currency="sbtc",
            **{
                "payment_method_data[type]": "sbtc",
                "payment_method_data[sbtc][payer]": self.env.payer,
            },
        )
        confirmed = self.call("POST", f"/v1/payment_intents/{pi['id']}/confirm")
        self.env.pay(confirmed["next_action"]["sbtc_contract_call"])
        deadline = time.monotonic() + DEADLINE
        settled = ("succeeded", "distributed")
        while (now := self.call("GET", f"/v1/payment_intents/{pi['id']}")) and (
            now["status"],
            now["sbtc"]["fee_status"],
        ) != settled:
            assert time.monotonic() < deadline, now
            time.sleep(0.5)
        return now

    def recorded(self, intent_ids: list[str]) -> dict[str, Any]:
        """The intents, their charges, and every event."""
        intents = [self.call("GET", f"/v1/payment_intents/{i}") for i in intent_ids]
        charges = [self.call("GET", f"/v1/charges/{pi['latest_charge']}") for pi in intents]
        events = self.call("GET", "/v1/events?limit=100")["data"]
        return {"intents": intents, "charges": charges, "events": [e["id"] for e in events]}


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields of an object that differ: {field: (before, after)}."""
    found: dict[str, Any] = {}
    for key in set(before) | set(after):
        was, now = before.get(key), after.get(key)
        if isinstance(was, dict) and isinstance(now, dict):
            found.update({f"{key}.{k}": v for k, v in changes(was, now).items()})
        elif was != now:
            found[key] = (was, now)
    return found


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    one = Dev(tmp_path / "var", free_port(), free_port())
    try:
        yield one
    finally:
        one.stop()


def open_shop(dev: Dev) -> Shop:
    """A merchant (the devnet's wallet_3, registered on chain) and a funded payer."""
    secrets = json.loads((dev.data_dir / "dev-secrets.json").read_text())
    env = asyncio.run(prepare_chain_env(secrets["gateway_signing_key"], url=dev.chain))
    signed_up = httpx.post(
        f"{dev.api}/v1/merchants",
        data={"business_name": "Kept", "email": "kept@example.com", "stacks_address": env.merchant},
        timeout=30,
    )
    assert signed_up.status_code == 200, signed_up.text
    return Shop(dev, env, signed_up.json()["secret_key"])


@on_the_devnet
def test_dev_stopped_and_started_again_continues_its_chain(dev: Dev) -> None:
    first_banner = dev.start()
    assert f"devnet chain: a new chain, kept in {dev.data_dir / 'devnet'}" in first_banner
    shop = open_shop(dev)
    paid = shop.paid()
    before = shop.recorded([paid["id"]])
    dev.stop()

    banner = dev.start()
    assert f"devnet chain: continues the chain kept in {dev.data_dir / 'devnet'}" in banner
    assert "chain: The devnet chain is the one the gateway followed" in banner
    # the watcher follows the same chain: a new payment succeeds, and the first one did not move
    later = shop.paid()
    after = shop.recorded([paid["id"]])
    assert changes(before["intents"][0], after["intents"][0]) == {}
    assert after["charges"][0]["status"] == "succeeded"
    assert after["charges"][0]["payment_method_details"]["sbtc"]["reorged_at"] is None
    new_events = set(after["events"]) - set(before["events"])
    assert set(before["events"]) <= set(after["events"])
    objects = {
        e["data"]["object"]["id"]
        for e in shop.call("GET", "/v1/events?limit=100")["data"]
        if e["id"] in new_events
    }
    assert paid["id"] not in objects
    assert paid["latest_charge"] not in objects
    assert later["id"] in objects


@on_the_devnet
def test_dev_on_a_wiped_devnet_folder_says_so_and_reverses_nothing(dev: Dev) -> None:
    dev.start()
    shop = open_shop(dev)
    paid = shop.paid()
    before = shop.recorded([paid["id"]])
    dev.stop()
    shutil.rmtree(dev.data_dir / "devnet")

    banner = dev.start()
    assert f"devnet chain: a new chain, kept in {dev.data_dir / 'devnet'}" in banner
    assert "is not the one this gateway followed" in banner
    assert "sbtc-gateway chain follow-new --network devnet" in banner
    assert f"delete {dev.data_dir} to start afresh" in banner
    # the watcher says it too, and changes nothing, however many blocks the new chain grows
    refused = dev.refused_rounds(at_least=1)
    assert "not following the chain: it is another chain, not a reorg" in dev.output.read_text()
    httpx.post(f"{dev.chain}/devnet/mine", json={"blocks": 30}, timeout=60).raise_for_status()
    dev.refused_rounds(at_least=refused + 2)  # a whole round after those blocks
    assert shop.recorded([paid["id"]]) == before


@pytest.fixture(scope="module")
def devnet() -> Iterator[DevnetProcess]:
    """A devnet that `dev` did not start (someone ran `sbtc-gateway devnet` before)."""
    process = DevnetProcess(port=free_port(), block_time_ms=0).start()
    yield process
    process.stop()


@on_the_devnet
def test_dev_sets_the_key_on_a_devnet_it_did_not_start(
    devnet: DevnetProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}",
        tmp_path,
        test_stacks_api_url=devnet.url,
        gateway_signing_key=SecretStr(KEY),
    )
    deployer = next(
        a for a in httpx.get(f"{devnet.url}/devnet/accounts").json() if a["name"] == "deployer"
    )
    with _dev_devnet(settings) as running:
        # the deployer owns the contract: it is the operator too
        assert running.operator_key is not None
        assert running.operator_key.get_secret_value() == deployer["private_key"]
    out = capsys.readouterr().out
    wanted = "0x" + PrivateKey.from_hex(KEY).public_key.hex()
    assert f"using the Stacks API already on {devnet.url}" in out
    assert f"gateway key {wanted} set on the devnet contract" in out
    httpx.post(f"{devnet.url}/devnet/mine", json={"blocks": 1}).raise_for_status()
    config = httpx.post(
        f"{devnet.url}/v2/contracts/call-read/{CONTRACT.replace('.', '/')}/get-config",
        json={"sender": deployer["address"], "arguments": []},
    ).json()
    assert config["okay"], config
    assert wanted.removeprefix("0x") in config["result"]
    with _dev_devnet(settings):  # a second start finds it set
        pass
    assert f"gateway key {wanted} already set" in capsys.readouterr().out


class _NotStacks(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_error(404)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        return None


def test_dev_says_why_it_cannot_set_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _NotStacks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        settings = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'dev.db'}", tmp_path, test_stacks_api_url=url
        )
        with _dev_devnet(settings) as running:
            assert running.operator_key is None
    finally:
        server.shutdown()
    err = capsys.readouterr().err
    assert f"gateway key NOT set: the contract {CONTRACT} cannot be read at {url}" in err
    assert "payments cannot be confirmed until it is" in err
