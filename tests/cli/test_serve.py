"""`sbtc-gateway dev` makes the devnet's contract accept the gateway's key, on a devnet it did
not start too (issue 13), or says exactly why it cannot."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from sbtc_gateway.chain import PrivateKey
from sbtc_gateway.cli.serve import _dev_devnet
from sbtc_gateway.devnet import DevnetProcess
from tests.chain_fixtures import CHAIN_MARKS, CONTRACT
from tests.conftest import free_port, make_settings

pytestmark = CHAIN_MARKS
KEY = "33" * 32


@pytest.fixture(scope="module")
def devnet() -> Iterator[DevnetProcess]:
    """A devnet that `dev` did not start (someone ran `sbtc-gateway devnet` before)."""
    process = DevnetProcess(port=free_port(), block_time_ms=0).start()
    yield process
    process.stop()


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
