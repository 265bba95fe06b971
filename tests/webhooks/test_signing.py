"""`Stripe-Signature` headers (`webhooks/signing.py`): the official `stripe` SDKs accept them, the
Python one on a signed body, the npm one on every delivered payload, also during a rotation."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import stripe

from sbtc_gateway.webhooks import signing
from tests.conftest import IN_CI, Merchant
from tests.webhooks.helpers import create_endpoint, dispatcher, event_ids, eventually
from tests.webhooks.receiver import Receiver

JS = Path(__file__).parents[1] / "js"


@pytest.mark.node
async def test_node_sdk_construct_event(app: Any, merchant: Merchant, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (JS / "node_modules" / "stripe").exists():
        if IN_CI:
            pytest.fail("node and tests/js/node_modules are required in CI")
        pytest.skip("node or tests/js/node_modules missing: run `make setup`")
    with Receiver() as receiver:
        endpoint = await create_endpoint(merchant, receiver.url)
        secrets = {endpoint["secret"]}
        pi = await merchant.create_intent()
        async with dispatcher(app):

            async def first() -> bool:
                return len(receiver.acked()) == 1

            await eventually(first, what="the first delivery")
            rotated = await merchant.post(
                f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret", {"expires_in": 600}
            )
            new_secret = rotated.json()["secret"]
            await merchant.post(f"/v1/payment_intents/{pi['id']}/cancel")
            expected = set(await event_ids(app, merchant.id))

            async def all_acked() -> bool:
                return set(receiver.acked()) >= expected

            await eventually(all_acked, what="deliveries during the overlap")
    records = []
    for request in receiver.requests:
        overlap = request.signature.count("v1=") == 2
        records.append(
            {
                "payload": request.body.decode(),
                "header": request.signature,
                "event_id": request.event_id,
                "secrets": sorted(secrets | {new_secret}) if overlap else sorted(secrets),
            }
        )
    assert any(r["header"].count("v1=") == 2 for r in records)
    path = tmp_path / "deliveries.json"
    path.write_text(json.dumps(records))
    result = await asyncio.to_thread(
        subprocess.run,
        [node, "webhook_verify.mjs", str(path)],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["deliveries"] == len(records)


def test_signature_matches_stripe_sdk() -> None:
    body = b'{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{}}'
    one, two = signing.new_secret(), signing.new_secret()
    header = signing.header([one, two], body)
    assert header.startswith("t=")
    assert header.count(",v1=") == 2
    for secret in (one, two):
        event = stripe.Webhook.construct_event(body.decode(), header, secret)
        assert event.id == "evt_1"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.decode() + " ", header, one)
    stale = signing.header([one], body, timestamp=1)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body.decode(), stale, one)
