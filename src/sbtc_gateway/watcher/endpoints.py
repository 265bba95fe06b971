"""Chain pushes: Chainhook payloads (2.x predicate format and the hosted 2.0 format) and the node
event-observer `/new_block`, each authenticated with the configured bearer token.

A push wakes the watcher at once (pub/sub channel `chain-wake`, so it reaches a watcher in
another process through Redis) instead of waiting for its next poll; the watcher then handles
the announced blocks through the same idempotent per-block path as polling (inbox on txid +
event index). A push that never arrives costs only the poll interval; reconciliation covers
the rest. The payload's block heights are validated and echoed back; its transactions are not
trusted on their own (they are read back from the Stacks API).
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from sbtc_gateway.api.deps import gateway
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.core import error_codes as codes

router = APIRouter(prefix="/chain", tags=["Chain pushes"], include_in_schema=False)
WAKE_CHANNEL = "chain-wake"


def _check_token(request: Request, expected: str | None) -> None:
    if not expected:
        raise codes.API_KEY_INVALID(message="Chain pushes are not enabled (SBTC_CHAIN_PUSH_TOKEN).")
    header = request.headers.get("authorization", "")
    given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise codes.API_KEY_INVALID(message="Invalid chain push token.")


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise codes.CHAIN_PUSH_NOT_JSON() from None
    if not isinstance(body, dict):
        raise codes.CHAIN_PUSH_NOT_OBJECT()
    return body


def chainhook_heights(body: dict[str, Any]) -> tuple[list[int], list[int]]:
    """(applied, rolled back) block heights of a Chainhook payload, 2.x or hosted 2.0."""
    event = body.get("event") if isinstance(body.get("event"), dict) else body
    assert isinstance(event, dict)

    def heights(key: str) -> list[int]:
        out = []
        for block in event.get(key) or []:
            ident = block.get("block_identifier") if isinstance(block, dict) else None
            if not isinstance(ident, dict) or not isinstance(ident.get("index"), int):
                raise codes.CHAIN_PUSH_BLOCK_INVALID(key=key)
            out.append(ident["index"])
        return out

    if "apply" not in event and "rollback" not in event:
        raise codes.CHAIN_PUSH_UNRECOGNIZED(kind="Chainhook", detail="no apply / rollback")
    return heights("apply"), heights("rollback")


async def _wake(request: Request, source: str, applied: list[int], rolled: list[int]) -> Response:
    gw = gateway(request)
    message = {"source": source, "apply": applied, "rollback": rolled}
    await gw.shared.pubsub.publish(WAKE_CHANNEL, json.dumps(message).encode())
    return json_response({"received": True, **message})


@router.post("/chainhook")
async def chainhook(request: Request) -> Response:
    gw = gateway(request)
    _check_token(request, _secret(gw.settings.chain_push_token))
    applied, rolled = chainhook_heights(await _body(request))
    return await _wake(request, "chainhook", applied, rolled)


@router.post("/new_block")
async def new_block(request: Request) -> Response:
    gw = gateway(request)
    _check_token(request, _secret(gw.settings.chain_push_token))
    body = await _body(request)
    height = body.get("block_height")
    if not isinstance(height, int) or not isinstance(body.get("block_hash"), str):
        raise codes.CHAIN_PUSH_UNRECOGNIZED(kind="/new_block", detail="block_height, block_hash")
    return await _wake(request, "event_observer", [height], [])


@router.post("/new_burn_block")
async def new_burn_block(request: Request) -> Response:
    """A new tenure (Bitcoin block): deeper burn anchoring for waiting payments."""
    gw = gateway(request)
    _check_token(request, _secret(gw.settings.chain_push_token))
    await _body(request)
    return await _wake(request, "event_observer", [], [])


@router.post("/new_mempool_tx")
async def new_mempool_tx(request: Request) -> Response:
    """New mempool transactions (a JSON list of raw transactions): `processing` sooner."""
    gw = gateway(request)
    _check_token(request, _secret(gw.settings.chain_push_token))
    try:
        json.loads(await request.body())
    except ValueError:
        raise codes.CHAIN_PUSH_NOT_JSON() from None
    return await _wake(request, "event_observer", [], [])


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None
