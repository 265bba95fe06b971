"""Chain pushes (`watcher/endpoints.py`): Chainhook payloads and the node's `/new_block`, behind
the bearer token, wake the watcher."""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import SecretStr

CHAINHOOK_2X = {
    "apply": [{"block_identifier": {"index": 12, "hash": "0x" + "ab" * 32}, "transactions": []}],
    "rollback": [],
    "chainhook": {"uuid": "x", "predicate": {}, "is_streaming_blocks": True},
}


CHAINHOOK_HOSTED = {
    "event": {
        "apply": [{"block_identifier": {"index": 13, "hash": "0x" + "cd" * 32}}],
        "rollback": [{"block_identifier": {"index": 12, "hash": "0x" + "ab" * 32}}],
    },
    "chainhook": {"uuid": "y"},
}


NEW_BLOCK = {"block_height": 14, "block_hash": "0x" + "ef" * 32, "transactions": [], "events": []}


async def test_pushes_need_the_bearer_token_and_wake_the_watcher(
    app: Any, client: httpx.AsyncClient
) -> None:
    gw = app.state.gateway
    woken: list[dict[str, Any]] = []

    async def on_wake(message: bytes) -> None:
        woken.append(json.loads(message))

    gw.shared.pubsub.subscribe("chain-wake", on_wake)
    # not configured: refused
    response = await client.post("/chain/chainhook", json=CHAINHOOK_2X)
    assert response.status_code == 401
    gw.settings.chain_push_token = SecretStr("push-secret")
    try:
        bad = await client.post(
            "/chain/chainhook", json=CHAINHOOK_2X, headers={"Authorization": "Bearer nope"}
        )
        assert bad.status_code == 401
        auth = {"Authorization": "Bearer push-secret"}
        ok = await client.post("/chain/chainhook", json=CHAINHOOK_2X, headers=auth)
        assert ok.status_code == 200, ok.text
        assert ok.json()["apply"] == [12]
        hosted = await client.post("/chain/chainhook", json=CHAINHOOK_HOSTED, headers=auth)
        assert (hosted.json()["apply"], hosted.json()["rollback"]) == ([13], [12])
        block = await client.post("/chain/new_block", json=NEW_BLOCK, headers=auth)
        assert block.json()["apply"] == [14]
        junk = await client.post("/chain/new_block", json={"nope": 1}, headers=auth)
        assert junk.status_code == 400
        assert [w["apply"] for w in woken] == [[12], [13], [14]]
    finally:
        gw.settings.chain_push_token = None
