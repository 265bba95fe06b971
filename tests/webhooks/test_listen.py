"""`sbtc-gateway listen --forward-to …` streams the merchant's events, signed with its secret."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import stripe

from tests.conftest import TEST_ADDRESS, ServerThread
from tests.webhooks.receiver import Receiver

CLI = Path(sys.executable).parent / "sbtc-gateway"


def test_listen_forwards_new_events(live_server: ServerThread, tmp_path: Path) -> None:
    merchant = httpx.post(
        f"{live_server.url}/v1/merchants",
        data={
            "business_name": "Listen Shop",
            "email": f"listen-{uuid.uuid4().hex[:10]}@example.com",
            "stacks_address": TEST_ADDRESS,
        },
    ).json()
    sk = merchant["secret_key"]
    headers = {"Authorization": f"Bearer {sk}"}
    before = httpx.post(
        f"{live_server.url}/v1/payment_intents",
        data={"amount": 5000, "currency": "sbtc"},
        headers=headers,
    )
    assert before.status_code == 200
    with Receiver() as receiver:
        proc = subprocess.Popen(
            [
                str(CLI),
                "listen",
                "--forward-to",
                receiver.url,
                "--api-key",
                sk,
                "--api-base",
                live_server.url,
                "--data-dir",
                str(tmp_path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert proc.stdout is not None
            ready = proc.stdout.readline()
            assert ready.startswith("Ready! Your webhook signing secret is whsec_"), ready
            secret = ready.split()[6]
            proc.stdout.readline()  # "Forwarding …"
            time.sleep(1.0)  # the listener has read its starting cursor
            created = httpx.post(
                f"{live_server.url}/v1/payment_intents",
                data={"amount": 6000, "currency": "sbtc"},
                headers=headers,
            ).json()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not receiver.acked():
                time.sleep(0.05)
        finally:
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=20)
    assert len(receiver.requests) == 1, output  # only the event created after it started
    request = receiver.requests[0]
    event = stripe.Webhook.construct_event(request.body.decode(), request.signature, secret)
    assert event.type == "payment_intent.created"
    assert event.data.object.id == created["id"]
    assert "<-- [200] POST" in output
    printed = subprocess.run(
        [str(CLI), "listen", "--forward-to", "x", "--api-key", sk, "--data-dir", str(tmp_path),
         "--print-secret"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert printed.stdout.strip() == secret
