"""One full run of the gateway at DEBUG, for `tests/test_secret_scan.py`.

Run in a child process so that logging is configured for real, exactly as `sbtc-gateway api`
configures it (`configure_logging`), and everything the process writes (structlog on stdout,
every standard-library logger on stderr, warnings, prints) is captured by the parent:

    python -m tests.secret_scan_run DATABASE_URL DATA_DIR OUT.json {json|console}

It writes every secret value it was handed (or sent) to OUT.json, by kind; the parent dumps the
database and looks for each of them there and in the captured output.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import sys
from pathlib import Path
from typing import Any

import httpx

from sbtc_gateway.core import request_signing
from sbtc_gateway.core.logging import configure_logging
from sbtc_gateway.payments import service as payments_service
from sbtc_gateway.runtime.app import create_app
from tests.conftest import OTHER_ADDRESS, TEST_ADDRESS, make_settings
from tests.webhooks.helpers import dispatcher, eventually
from tests.webhooks.receiver import Receiver

PASSWORD = "correct horse battery staple " + secrets.token_hex(4)
FORM = "application/x-www-form-urlencoded"


class Run:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.found: dict[str, list[str]] = {}

    def keep(self, kind: str, *values: str) -> None:
        for value in values:
            assert value, f"empty {kind}"
            self.found.setdefault(kind, []).append(value)

    def sign(self, signing_secret: str, path: str, body: bytes) -> str:
        header = request_signing.sign_header(signing_secret, "POST", path, body)
        self.keep("Sbtc-Signature header", header, *_v1(header))
        return header

    async def post(
        self,
        path: str,
        form: dict[str, str],
        *,
        key: str | None = None,
        idempotency_key: str | None = None,
        signing_secret: str | None = None,
    ) -> httpx.Response:
        body = _encode(form)
        headers = {"Content-Type": FORM}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if signing_secret is not None:
            headers["Sbtc-Signature"] = self.sign(signing_secret, path, body)
        return await self.client.post(path, content=body, headers=headers)


def _v1(header: str) -> list[str]:
    found = re.findall(r"v1=([0-9a-f]+)", header)
    assert found, header
    return found


def _encode(form: dict[str, str]) -> bytes:
    return str(httpx.QueryParams(form)).encode()


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def scenario(run: Run, app: Any, receiver: Receiver) -> None:
    # Sign-up with a password (the dashboard owner), with an Idempotency-Key as the SDKs send.
    signup = _ok(
        await run.post(
            "/v1/merchants",
            {
                "business_name": "Scan Shop",
                "email": f"scan-{secrets.token_hex(6)}@example.com",
                "stacks_address": TEST_ADDRESS,
                "password": PASSWORD,
            },
            idempotency_key=f"signup-{secrets.token_hex(8)}",
        )
    )
    run.keep("password", PASSWORD)
    run.keep("secret key", signup["secret_key"])
    run.keep("publishable key", signup["publishable_key"])
    run.keep("signing secret", signup["signing_secret"])

    # Rotate the secret key (signed, idempotent), and replay the rotation: the same answer.
    rotation_key = f"rotate-{secrets.token_hex(8)}"
    rotate = {"expires_in": "3600"}
    rotated_response = await run.post(
        "/v1/api_keys/rotate",
        rotate,
        key=signup["secret_key"],
        idempotency_key=rotation_key,
        signing_secret=signup["signing_secret"],
    )
    rotated = _ok(rotated_response)
    run.keep("secret key", rotated["secret"])
    run.keep("signing secret", rotated["signing_secret"])
    replayed = await run.post(
        "/v1/api_keys/rotate",
        rotate,
        key=signup["secret_key"],
        idempotency_key=rotation_key,
        signing_secret=signup["signing_secret"],
    )
    assert replayed.headers.get("idempotent-replayed") == "true", replayed.text
    assert replayed.content == rotated_response.content
    sk, sksig, pk = rotated["secret"], rotated["signing_secret"], signup["publishable_key"]

    # A webhook endpoint (signed, idempotent): its whsec_ secret.
    hook = _ok(
        await run.post(
            "/v1/webhook_endpoints",
            {"url": receiver.url, "enabled_events[]": "*"},
            key=sk,
            idempotency_key=f"hook-{secrets.token_hex(8)}",
            signing_secret=sksig,
        )
    )
    run.keep("webhook secret", hook["secret"])

    # A PaymentIntent: create, confirm, retrieve with the publishable key and client secret.
    intent = _ok(
        await run.post(
            "/v1/payment_intents",
            {"amount": "25000", "currency": "sbtc", "metadata[order]": "42"},
            key=sk,
            idempotency_key=f"create-{secrets.token_hex(8)}",
        )
    )
    run.keep("client secret", intent["client_secret"])
    confirmed = _ok(
        await run.post(
            f"/v1/payment_intents/{intent['id']}/confirm",
            {
                "payment_method_data[type]": "sbtc",
                "payment_method_data[sbtc][payer]": OTHER_ADDRESS,
            },
            key=sk,
            idempotency_key=f"confirm-{secrets.token_hex(8)}",
        )
    )
    call = confirmed["next_action"]["sbtc_contract_call"]
    signature_arg = call["function_args"][-1]  # Clarity buffer: 0x02, length, 65 bytes
    run.keep("terms signature", signature_arg[-130:])
    seen = await run.client.get(
        f"/v1/payment_intents/{intent['id']}",
        params={"client_secret": intent["client_secret"]},
        headers={"Authorization": f"Bearer {pk}"},
    )
    _ok(seen)

    # A wrong bearer key is refused (and the refusal is logged).
    wrong = "sk_test_" + secrets.token_hex(17)
    run.keep("wrong key sent", wrong)
    refused = await run.client.get("/v1/account", headers={"Authorization": f"Bearer {wrong}"})
    assert refused.status_code == 401, refused.text

    # A dashboard session: log in, use the access token, refresh.
    first = _ok(await run.post("/v1/auth/login", {"email": signup["email"], "password": PASSWORD}))
    used = await run.client.get(
        "/v1/payment_intents", headers={"Authorization": f"Bearer {first['access_token']}"}
    )
    _ok(used)
    second = _ok(await run.post("/v1/auth/refresh", {"refresh_token": first["refresh_token"]}))
    for session in (first, second):
        run.keep("access token", session["access_token"], session["access_token"].split(".")[2])
        run.keep("refresh token", session["refresh_token"])

    # Webhooks delivered to a local receiver: the Stripe-Signature values it got.
    async with dispatcher(app):
        await eventually(
            lambda: _delivered(receiver, intent["id"]), what="the webhooks for the intent"
        )
    for received in receiver.requests:
        run.keep("Stripe-Signature header", received.signature, *_v1(received.signature))

    # An unhandled error: the id generator hands out an id already taken, so the database
    # refuses the INSERT (its parameters carry the new intent's client secret).
    original = payments_service.new_id
    payments_service.new_id = lambda prefix: intent["id"] if prefix == "pi" else original(prefix)
    try:
        failing_key = f"collide-{secrets.token_hex(8)}"
        for _ in range(2):  # the second one replays the stored failure
            failed = await run.post(
                "/v1/payment_intents",
                {"amount": "30000", "currency": "sbtc"},
                key=sk,
                idempotency_key=failing_key,
            )
            assert failed.status_code == 500, failed.text
    finally:
        payments_service.new_id = original


async def _delivered(receiver: Receiver, intent_id: str) -> bool:
    bodies = [r.body for r in receiver.requests if r.answered == 200]
    return sum(intent_id.encode() in body for body in bodies) >= 2  # created + requires_action


async def main(database_url: str, data_dir: Path, log_json: bool) -> dict[str, list[str]]:
    settings = make_settings(
        database_url,
        data_dir,
        log_level="DEBUG",
        log_json=log_json,
        require_request_signing=True,
    )
    configure_logging(settings.log_level, json=settings.log_json)
    app = create_app(settings)
    with Receiver() as receiver:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway.test"
            ) as client,
        ):
            run = Run(client)
            await scenario(run, app, receiver)
    run.keep("server secret", settings.secret("api_key_secret"))
    run.keep("server secret", settings.secret("gateway_signing_key"))
    run.keep("server secret", settings.secret("jwt_private_key").splitlines()[1])
    for entry in settings.keyring_keys().split(","):
        run.keep("server secret", entry.partition(":")[2])
    return run.found


if __name__ == "__main__":
    database_url, data_dir, out, renderer = sys.argv[1:]
    found = asyncio.run(main(database_url, Path(data_dir), log_json=renderer == "json"))
    Path(out).write_text(json.dumps(found))
