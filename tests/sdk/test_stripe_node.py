"""The official `stripe` npm SDK against a real server (a Node script under tests/js)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI, TEST_ADDRESS, ServerThread

JS = Path(__file__).parents[1] / "js"


@pytest.mark.node
def test_node_sdk_lifecycle(live_server: ServerThread) -> None:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "stripe").exists():
        if IN_CI:
            pytest.fail(
                "node and tests/js/node_modules are required in CI (make test installs them)"
            )
        pytest.skip("node or tests/js/node_modules missing: run `make setup`")
    merchant = httpx.post(
        f"{live_server.url}/v1/merchants",
        data={
            "business_name": "Node Shop",
            "email": f"node-{uuid.uuid4().hex[:10]}@example.com",
            "stacks_address": TEST_ADDRESS,
        },
    ).json()
    env = {**os.environ, "GATEWAY_URL": live_server.url, "SECRET_KEY": merchant["secret_key"]}
    result = subprocess.run(
        [node, "stripe_lifecycle.mjs"], cwd=JS, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert json.loads(result.stdout.strip().splitlines()[-1])["ok"] is True
