"""`sbtc-gateway dev`: it stops the devnet it started when it is stopped, by SIGTERM (a service
manager, `kill`) as by Ctrl-C, so nothing is left listening; and it makes the devnet's contract
accept the gateway's key, on a devnet it did not start too (issue 13), or says exactly why it
cannot."""

from __future__ import annotations

import http.server
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from sbtc_gateway.chain import PrivateKey
from sbtc_gateway.cli.serve import _dev_devnet
from sbtc_gateway.devnet import DevnetProcess
from tests.chain_fixtures import CHAIN_MARKS, CONTRACT
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
