"""Smoke test of a running gateway (staging after a deploy, green before the switch).

    python -m scripts.smoke --base-url https://pay.staging.example.com
    python -m scripts.smoke --base-url http://127.0.0.1:8000 --no-signup --secret-key sk_test_…

Checks `/health` and `/ready` (200; `degraded` is reported, not failed), `/status`, then, in
test mode, a merchant's whole intent round trip: sign up (unless --no-signup, which needs a
key), create with an Idempotency-Key, replay it (same intent), retrieve, list, cancel. Exits 1
with the failing step on the first mismatch. Safe to run against a live gateway only with
--no-signup and a test key: it creates test-mode objects only.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from typing import Any

import httpx

ADDRESS = "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG"


class SmokeFailure(Exception):
    pass


def check(step: str, response: httpx.Response, status: int = 200) -> dict[str, Any]:
    if response.status_code != status:
        raise SmokeFailure(f"{step}: HTTP {response.status_code} {response.text[:300]}")
    body: dict[str, Any] = response.json()
    print(f"ok  {step}")
    return body


def run(base_url: str, secret_key: str | None, timeout: float) -> None:
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        check("GET /health", client.get("/health"))
        ready = check("GET /ready", client.get("/ready"))
        if ready.get("status") != "ok":
            print(f"    readiness is {ready.get('status')}: {ready}")
        check("GET /status.json", client.get("/status.json"))
        if secret_key is None:
            merchant = check(
                "POST /v1/merchants",
                client.post(
                    "/v1/merchants",
                    data={
                        "business_name": "Smoke test",
                        "email": f"smoke-{secrets.token_hex(6)}@example.com",
                        "stacks_address": ADDRESS,
                    },
                ),
            )
            secret_key = str(merchant["secret_key"])
        if not secret_key.startswith("sk_test_"):
            raise SmokeFailure("the smoke test only uses test-mode keys")
        auth = {"Authorization": f"Bearer {secret_key}"}
        key = {"Idempotency-Key": f"smoke-{secrets.token_hex(8)}", **auth}
        params = {"amount": "10000", "currency": "sbtc"}
        created = check(
            "create intent", client.post("/v1/payment_intents", data=params, headers=key)
        )
        replay = client.post("/v1/payment_intents", data=params, headers=key)
        if check("replay intent", replay)["id"] != created["id"]:
            raise SmokeFailure("an Idempotency-Key replay made a second intent")
        pi = created["id"]
        check("retrieve intent", client.get(f"/v1/payment_intents/{pi}", headers=auth))
        listed = check("list intents", client.get("/v1/payment_intents", headers=auth))
        if pi not in {o["id"] for o in listed["data"]}:
            raise SmokeFailure("the new intent is not listed")
        canceled = check("cancel", client.post(f"/v1/payment_intents/{pi}/cancel", headers=auth))
        if canceled["status"] != "canceled":
            raise SmokeFailure(f"cancel left the intent {canceled['status']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.smoke", description=__doc__)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--secret-key", default=None)
    parser.add_argument("--no-signup", action="store_true")
    parser.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args(argv)
    if args.no_signup and not args.secret_key:
        parser.error("--no-signup needs --secret-key")
    try:
        run(args.base_url.rstrip("/"), args.secret_key, args.timeout)
    except (SmokeFailure, httpx.HTTPError) as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
