"""`sbtc-gateway dev` stops the devnet it started when it is stopped, by SIGTERM (a service
manager, `kill`) as by Ctrl-C: nothing is left listening."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.runtime.test_processes import CLI, _env, _wait_for


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
