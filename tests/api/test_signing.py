"""Request signing on sensitive calls (`api/signing.py`): when it is required, and what is refused
(bad HMAC, old timestamp, replayed nonce — across replicas). The header itself:
tests/core/test_request_signing.py."""

from __future__ import annotations

import secrets
import time
from typing import Any

from sbtc_gateway.config import Settings
from sbtc_gateway.core import request_signing
from tests.conftest import TEST_ADDRESS, Merchant, sign_up

TEST_ADDRESS_2 = "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM"


def _signed(m: Merchant, body: bytes = b"expires_in=0", **kw: Any) -> dict[str, str]:
    return {
        **m.headers(),
        "Content-Type": "application/x-www-form-urlencoded",
        "Sbtc-Signature": request_signing.sign_header(
            m.signing_secrets[m.sk], "POST", "/v1/api_keys/rotate", body, **kw
        ),
    }


async def _rotate(instance: Any, m: Merchant, headers: dict[str, str], body: bytes) -> Any:
    return await instance.client.post("/v1/api_keys/rotate", content=body, headers=headers)


async def test_required_signature(sqlite_settings: Settings, make_instance: Any) -> None:
    gw = await make_instance(sqlite_settings.model_copy(update={"require_request_signing": True}))
    m = Merchant(gw.client, (await sign_up(gw.client)).body)

    unsigned = await m.post("/v1/api_keys/rotate", {"expires_in": 0})
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "request_signature_missing"

    wrong_body = await _rotate(gw, m, _signed(m, b"expires_in=0"), b"expires_in=5")
    assert wrong_body.json()["error"]["code"] == "request_signature_invalid"

    old = _signed(m, timestamp=int(time.time()) - 301)
    assert (await _rotate(gw, m, old, b"expires_in=0")).json()["error"][
        "code"
    ] == "request_signature_expired"

    headers = _signed(m)
    ok = await _rotate(gw, m, headers, b"expires_in=0")
    assert ok.status_code == 200, ok.text
    new_key = ok.json()["secret"]
    # the old key is revoked at once on this replica
    assert (await m.get("/v1/account")).status_code == 401
    assert (await m.get("/v1/account", key=new_key)).status_code == 200

    # replaying the exact request (same nonce) is refused even with a fresh key
    m2 = Merchant(
        gw.client,
        {**m.body, "secret_key": new_key, "signing_secret": ok.json()["signing_secret"]},
    )
    replay = {**_signed(m2), "Sbtc-Signature": headers["Sbtc-Signature"]}
    assert (await _rotate(gw, m2, replay, b"expires_in=0")).status_code == 401


async def test_signing_optional_in_test_mode_by_default(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    gw = await make_instance(sqlite_settings)
    assert gw.gateway.settings.signing_required(livemode=False) is False
    assert gw.gateway.settings.signing_required(livemode=True) is True
    m = Merchant(gw.client, (await sign_up(gw.client)).body)
    assert (await m.post("/v1/api_keys/rotate", {"expires_in": 60})).status_code == 200
    # a signature that is sent is checked all the same
    bad = _signed(m)
    bad["Sbtc-Signature"] = bad["Sbtc-Signature"][:-4] + "0000"
    assert (await _rotate(gw, m, bad, b"expires_in=0")).status_code == 401


async def test_nonce_is_single_use_across_replicas(
    sqlite_settings: Settings, make_instance: Any, redis_url: str, redis_prefix: str
) -> None:
    settings = sqlite_settings.model_copy(
        update={
            "redis_url": redis_url,
            "redis_key_prefix": redis_prefix,
            "require_request_signing": True,
        }
    )
    a = await make_instance(settings)
    b = await make_instance(settings)
    m = Merchant(a.client, (await sign_up(a.client)).body)
    nonce = secrets.token_urlsafe(18)
    headers = _signed(m, b"expires_in=600", nonce=nonce)
    assert (await _rotate(a, m, headers, b"expires_in=600")).status_code == 200
    # the same signed request sent to the other replica (the old key is in its grace period)
    replay = await _rotate(b, m, headers, b"expires_in=600")
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "request_signature_replayed"


async def test_every_sensitive_operation_needs_a_signature_when_required(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    """Key rotation, webhook endpoint changes, refunds and payout-address changes: refused
    unsigned (nothing changes), accepted signed; everyday calls need no signature."""
    gw = await make_instance(sqlite_settings.model_copy(update={"require_request_signing": True}))
    m = Merchant(gw.client, (await sign_up(gw.client)).body)
    hook = {"url": "https://example.com/hook", "enabled_events[]": "*"}
    created = await m.post("/v1/webhook_endpoints", hook, signed=False)
    assert created.json()["error"]["code"] == "request_signature_missing"
    assert (await m.get("/v1/webhook_endpoints")).json()["data"] == []
    endpoint = (await m.post("/v1/webhook_endpoints", hook, signed=True)).json()
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    calls: list[tuple[str, dict[str, Any]]] = [
        (path, {"description": "changed"}),
        (f"{path}/rotate_secret", {}),
        ("/v1/refunds", {"payment_intent": "pi_00000000000000000000000000"}),
        ("/v1/account", {"stacks_address": TEST_ADDRESS_2}),
        ("/v1/api_keys/rotate", {"expires_in": 3600}),
    ]
    for call, params in calls:
        unsigned = await m.post(call, params, signed=False)
        assert unsigned.status_code == 401, (call, unsigned.text)
        assert unsigned.json()["error"]["param"] == "Sbtc-Signature"
    assert (await m.get(path)).json()["description"] == endpoint["description"]
    assert (await m.get("/v1/account")).json()["stacks_address"] == TEST_ADDRESS
    for call, params in calls:
        signed = await m.post(call, params, signed=True)
        assert signed.status_code != 401, (call, signed.text)
    deleted = await m.client.delete(path, headers=m.headers())
    assert deleted.status_code == 401
    # not sensitive: no signature needed
    assert (await m.post("/v1/account", {"business_name": "Renamed"}, signed=False)).is_success
    assert (await m.create_intent())["object"] == "payment_intent"


async def test_the_api_key_alone_cannot_sign(sqlite_settings: Settings, make_instance: Any) -> None:
    """The signing secret comes with the key and is not computable from it: a leaked bearer key
    cannot rotate keys or move payouts."""
    gw = await make_instance(sqlite_settings.model_copy(update={"require_request_signing": True}))
    m = Merchant(gw.client, (await sign_up(gw.client)).body)
    secret = m.signing_secrets[m.sk]
    assert secret.startswith("sksig_")
    assert len(secret) == len("sksig_") + 43
    assert m.sk not in secret
    with_key = {
        **m.headers(),
        "Content-Type": "application/x-www-form-urlencoded",
        "Sbtc-Signature": request_signing.sign_header(
            m.sk, "POST", "/v1/api_keys/rotate", b"expires_in=0"
        ),
    }
    refused = await _rotate(gw, m, with_key, b"expires_in=0")
    assert refused.json()["error"]["code"] == "request_signature_invalid"
    rotated = await _rotate(gw, m, _signed(m, b"expires_in=60"), b"expires_in=60")
    assert rotated.status_code == 200, rotated.text
    fresh = rotated.json()["signing_secret"]
    assert fresh.startswith("sksig_")
    assert fresh != secret
    m.add_key(rotated.json()["secret"], fresh)
    changed = await m.post(
        "/v1/account", {"stacks_address": TEST_ADDRESS_2}, key=rotated.json()["secret"], signed=True
    )
    assert changed.status_code == 200, changed.text
