"""Dashboard users: login, token rotation and reuse, logout, roles on every endpoint, and the
abuse cases (tampered, expired, `alg: none`, HS256-with-the-public-key tokens). Runs on SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import httpx
import jwt
import pytest

from sbtc_gateway.users import roles
from sbtc_gateway.users.tokens import AUDIENCE, ISSUER
from tests.conftest import TEST_JWT_KEY, Merchant, sign_up

PASSWORD = "correct horse battery staple"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: Any
) -> httpx.Response:
    return await client.post("/v1/auth/login", data={"email": email, "password": password, **extra})


async def session_for(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    response = await login(client, email)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def owner(client: httpx.AsyncClient) -> tuple[Merchant, dict[str, Any]]:
    """A merchant signed up with a password, and its owner's session."""
    m = await sign_up(client, password=PASSWORD)
    return m, await session_for(client, m.body["email"])


async def add_user(m: Merchant, role: str, *, key: str | None = None) -> tuple[str, str]:
    email = f"{role}-{secrets.token_hex(4)}@example.com"
    response = await m.post(
        "/v1/users", {"email": email, "role": role, "password": PASSWORD}, key=key
    )
    assert response.status_code == 200, response.text
    return response.json()["id"], email


def error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def craft(claims: dict[str, Any], *, key: str = TEST_JWT_KEY, **headers: Any) -> str:
    return jwt.encode(claims, key, "RS256", headers=headers or None)


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# --- the happy path ----------------------------------------------------------------------------


async def test_sign_up_with_password_then_log_in_and_use_the_token(
    client: httpx.AsyncClient, app: Any
) -> None:
    m, s = await owner(client)
    assert s["object"] == "auth_session"
    assert s["token_type"] == "Bearer"
    assert s["expires_in"] == 3600
    assert s["refresh_expires_in"] == 7 * 24 * 3600
    assert s["refresh_token"].startswith("rt_")
    assert s["user"]["role"] == "owner"
    assert s["user"]["email"] == m.body["email"]

    claims = claims_of(s["access_token"])
    assert claims["merchant_id"] == m.id
    assert claims["sub"] == s["user"]["id"]
    assert claims["role"] == "owner"
    assert "owners:write" in claims["permissions"]
    assert claims["livemode"] is False
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["exp"] - claims["iat"] == 3600

    # the JWKS verifies it
    jwks = (await client.get("/.well-known/jwks.json")).json()
    header = jwt.get_unverified_header(s["access_token"])
    assert header["alg"] == "RS256"
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
    jwt.decode(s["access_token"], public, algorithms=["RS256"], audience=AUDIENCE)  # type: ignore[arg-type]

    token = s["access_token"]
    pi = await m.post("/v1/payment_intents", {"amount": 25_000, "currency": "sbtc"}, key=token)
    assert pi.status_code == 200, pi.text
    listed = await m.get("/v1/payment_intents", key=token)
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["data"]] == [pi.json()["id"]]
    me = await m.get("/v1/users/me", key=token)
    assert me.json()["id"] == s["user"]["id"]
    assert (await m.get("/v1/account", key=token)).json()["id"] == m.id
    # an email is matched case-insensitively
    assert (await login(client, m.body["email"].upper())).status_code == 200


async def test_first_owner_with_the_secret_key(client: httpx.AsyncClient) -> None:
    m = await sign_up(client)  # no password: no user yet
    assert (await m.get("/v1/users")).json()["data"] == []
    user_id, email = await add_user(m, "owner")
    s = await session_for(client, email)
    assert s["user"]["id"] == user_id
    assert s["user"]["role"] == "owner"
    me = await m.get("/v1/users/me")  # a secret key is not a user
    assert me.status_code == 400
    assert error(me)["code"] == "user_token_required"


# --- refresh tokens ----------------------------------------------------------------------------


async def test_refresh_rotates_and_a_reuse_revokes_the_whole_family(
    client: httpx.AsyncClient,
) -> None:
    m, first = await owner(client)
    second = await client.post("/v1/auth/refresh", data={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    second_body = second.json()
    assert second_body["refresh_token"] != first["refresh_token"]
    assert claims_of(second_body["access_token"])["sid"] == claims_of(first["access_token"])["sid"]
    assert (await m.get("/v1/payment_intents", key=second_body["access_token"])).status_code == 200

    # the first refresh token again: a reuse (stolen?) → the whole family is revoked
    reused = await client.post("/v1/auth/refresh", data={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert error(reused)["code"] == "refresh_token_reused"
    again = await client.post(
        "/v1/auth/refresh", data={"refresh_token": second_body["refresh_token"]}
    )
    assert again.status_code == 401
    assert error(again)["code"] == "refresh_token_invalid"
    for token in (first["access_token"], second_body["access_token"]):
        denied = await m.get("/v1/payment_intents", key=token)
        assert denied.status_code == 401
        assert error(denied)["code"] == "session_revoked"
    # another session of the same user is untouched
    other = await session_for(client, m.body["email"])
    assert (await m.get("/v1/payment_intents", key=other["access_token"])).status_code == 200


async def test_concurrent_refreshes_of_one_token_exactly_one_wins(
    client: httpx.AsyncClient,
) -> None:
    m, s = await owner(client)
    data = {"refresh_token": s["refresh_token"]}
    results = await asyncio.gather(
        client.post("/v1/auth/refresh", data=data), client.post("/v1/auth/refresh", data=data)
    )
    assert sorted(r.status_code for r in results) == [200, 401]
    (winner,) = [r for r in results if r.status_code == 200]
    (loser,) = [r for r in results if r.status_code == 401]
    assert error(loser)["code"] == "refresh_token_reused"
    # the loser was a reuse: the family, with the winner's new tokens, is revoked
    late = await client.post(
        "/v1/auth/refresh", data={"refresh_token": winner.json()["refresh_token"]}
    )
    assert late.status_code == 401
    assert (await m.get("/v1/account", key=winner.json()["access_token"])).status_code == 401


async def test_bad_refresh_tokens(client: httpx.AsyncClient) -> None:
    for value in ["rt_" + "A" * 43, "nonsense", "x" * 500]:
        response = await client.post("/v1/auth/refresh", data={"refresh_token": value})
        assert response.status_code == 401
        assert error(response)["code"] == "refresh_token_invalid"
    missing = await client.post("/v1/auth/refresh", data={})
    assert missing.status_code == 400
    assert error(missing)["param"] == "refresh_token"


async def test_logout_ends_the_session(client: httpx.AsyncClient) -> None:
    m, s = await owner(client)
    other = await session_for(client, m.body["email"])
    out = await client.post("/v1/auth/logout", headers=bearer(s["access_token"]))
    assert out.status_code == 200, out.text
    assert out.json() == {"object": "logout", "revoked": True}
    denied = await m.get("/v1/payment_intents", key=s["access_token"])
    assert denied.status_code == 401
    assert error(denied)["code"] == "session_revoked"
    refreshed = await client.post("/v1/auth/refresh", data={"refresh_token": s["refresh_token"]})
    assert refreshed.status_code == 401
    # only that session
    assert (await m.get("/v1/payment_intents", key=other["access_token"])).status_code == 200
    # a secret key has no session to end
    assert (await m.post("/v1/auth/logout")).status_code == 400


# --- hostile tokens ----------------------------------------------------------------------------


async def test_forged_and_broken_tokens_are_401_never_500(
    client: httpx.AsyncClient, app: Any
) -> None:
    m, s = await owner(client)
    good = claims_of(s["access_token"])
    now = int(time.time())
    kid = jwt.get_unverified_header(s["access_token"])["kid"]
    public_pem = app.state.gateway.signer.public_pem()
    header_b64, payload_b64, signature_b64 = s["access_token"].split(".")

    tampered_payload = b64(json.dumps({**good, "role": "owner", "merchant_id": "acct_X"}).encode())
    none_header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    hs_header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    hs_signing_input = f"{hs_header}.{payload_b64}".encode()
    hs_signature = b64(hmac.new(public_pem, hs_signing_input, hashlib.sha256).digest())
    other_key = jwt.encode(good, _other_rsa_key(), "RS256", headers={"kid": kid})

    cases = {
        "expired": (craft({**good, "iat": now - 7200, "exp": now - 3600}), "token_expired"),
        "tampered payload": (f"{header_b64}.{tampered_payload}.{signature_b64}", "invalid_token"),
        "alg none": (f"{none_header}.{payload_b64}.", "invalid_token"),
        "HS256 keyed with the public PEM": (
            f"{hs_header}.{payload_b64}.{hs_signature}",
            "invalid_token",
        ),
        "another RSA key": (other_key, "invalid_token"),
        "wrong issuer": (craft({**good, "iss": "someone-else"}), "invalid_token"),
        "wrong audience": (craft({**good, "aud": "another-api"}), "invalid_token"),
        "no jti": (craft({k: v for k, v in good.items() if k != "jti"}), "invalid_token"),
        "no exp": (craft({k: v for k, v in good.items() if k != "exp"}), "invalid_token"),
        "livemode not a bool": (craft({**good, "livemode": "false"}), "invalid_token"),
        "garbage": ("aaa.bbb.ccc", "invalid_token"),
        "empty parts": ("..", "invalid_token"),
        "another merchant's id": (craft({**good, "merchant_id": "acct_X"}), "session_revoked"),
        "an unknown session": (craft({**good, "sid": "rtf_nope"}), "session_revoked"),
        "live on a test gateway": (craft({**good, "livemode": True}), "livemode_disabled"),
    }
    for what, (token, code) in cases.items():
        response = await m.get("/v1/payment_intents", key=token)
        assert response.status_code == 401, (what, response.text)
        assert error(response)["code"] == code, what
    # and the genuine token still works
    assert (await m.get("/v1/payment_intents", key=s["access_token"])).status_code == 200


def _other_rsa_key() -> str:
    from sbtc_gateway.core.rsa_keys import generate_private_key_pem

    return generate_private_key_pem()


async def test_a_token_sees_only_its_merchant(client: httpx.AsyncClient) -> None:
    a, sa = await owner(client)
    b, _ = await owner(client)
    theirs = await b.create_intent()
    response = await a.get(f"/v1/payment_intents/{theirs['id']}", key=sa["access_token"])
    assert response.status_code == 404
    their_user, _ = await add_user(b, "viewer")
    for call in (
        a.get(f"/v1/users/{their_user}", key=sa["access_token"]),
        a.post(f"/v1/users/{their_user}", {"role": "admin"}, key=sa["access_token"]),
        a.client.delete(f"/v1/users/{their_user}", headers=bearer(sa["access_token"])),
    ):
        assert (await call).status_code == 404
    assert (await b.get(f"/v1/users/{their_user}")).json()["role"] == "viewer"


# --- roles -------------------------------------------------------------------------------------


async def test_viewer_reads_but_cannot_write_or_manage(client: httpx.AsyncClient) -> None:
    m, _ = await owner(client)
    pi = await m.create_intent()
    _, email = await add_user(m, "viewer")
    viewer = (await session_for(client, email))["access_token"]
    assert (await m.get("/v1/payment_intents", key=viewer)).status_code == 200
    assert (await m.get(f"/v1/payment_intents/{pi['id']}", key=viewer)).status_code == 200
    assert (await m.get("/v1/users", key=viewer)).status_code == 200
    assert (await m.get("/v1/account", key=viewer)).status_code == 200
    forbidden = [
        m.post("/v1/payment_intents", {"amount": 25_000, "currency": "sbtc"}, key=viewer),
        m.post(f"/v1/payment_intents/{pi['id']}/cancel", key=viewer),
        m.post(
            "/v1/users",
            {"email": "x@example.com", "role": "owner", "password": PASSWORD},
            key=viewer,
        ),
        m.post("/v1/account", {"business_name": "Mine now"}, key=viewer),
        m.post("/v1/api_keys/rotate", key=viewer),
        m.post("/v1/webhook_endpoints", {"url": "https://example.com/h"}, key=viewer),
        m.post("/v1/refunds", {"payment_intent": pi["id"]}, key=viewer),
    ]
    for call in forbidden:
        response = await call
        assert response.status_code == 403, response.text
        assert error(response)["code"] == "insufficient_permissions"
    assert (await m.get(f"/v1/payment_intents/{pi['id']}")).json()["status"] == pi["status"]
    assert (await m.get("/v1/account")).json()["business_name"] == m.body["business_name"]


async def test_developer_changes_test_mode_only_and_manages_nobody(
    client: httpx.AsyncClient,
) -> None:
    m, _ = await owner(client)
    _, email = await add_user(m, "developer")
    dev = (await session_for(client, email))["access_token"]
    created = await m.post("/v1/payment_intents", {"amount": 25_000, "currency": "sbtc"}, key=dev)
    assert created.status_code == 200
    hook = await m.post(
        "/v1/webhook_endpoints",
        {"url": "https://example.com/h", "enabled_events[]": "*"},
        key=dev,
    )
    assert hook.status_code == 200, hook.text
    for call in (
        m.post("/v1/refunds", {"payment_intent": created.json()["id"]}, key=dev),
        m.post(
            "/v1/users", {"email": "y@example.com", "role": "viewer", "password": PASSWORD}, key=dev
        ),
        m.post("/v1/account", {"business_name": "x"}, key=dev),
    ):
        assert (await call).status_code == 403
    # in live mode a developer only reads
    live = roles.permissions_for("developer", livemode=True)
    assert "payment_intents:write" not in live
    assert "payment_intents:read" in live
    assert roles.permissions_for("admin", livemode=True) >= roles.DEVELOPER_TEST_MODE
    assert roles.permissions_for("nonsense", livemode=False) == frozenset()


async def test_rotating_the_secret_key_with_a_token(client: httpx.AsyncClient) -> None:
    m, s = await owner(client)
    rotated = await m.post("/v1/api_keys/rotate", {"expires_in": 0}, key=s["access_token"])
    assert rotated.status_code == 200, rotated.text
    assert (await m.get("/v1/account")).status_code == 401  # the old secret key
    assert (await m.get("/v1/account", key=rotated.json()["secret"])).status_code == 200


async def test_admins_manage_everyone_but_owners(client: httpx.AsyncClient) -> None:
    m, s = await owner(client)
    owner_id = s["user"]["id"]
    admin_id, email = await add_user(m, "admin")
    admin = (await session_for(client, email))["access_token"]
    dev_id, _ = await add_user(m, "developer", key=admin)
    promoted = await m.post(f"/v1/users/{dev_id}", {"role": "admin"}, key=admin)
    assert promoted.json()["role"] == "admin"
    for call in (
        m.post(
            "/v1/users",
            {"email": "o@example.com", "role": "owner", "password": PASSWORD},
            key=admin,
        ),
        m.post(f"/v1/users/{dev_id}", {"role": "owner"}, key=admin),
        m.post(f"/v1/users/{owner_id}", {"role": "viewer"}, key=admin),
        m.post(f"/v1/users/{owner_id}", {"status": "disabled"}, key=admin),
        m.client.delete(f"/v1/users/{owner_id}", headers=bearer(admin)),
    ):
        response = await call
        assert response.status_code == 403, response.text
        assert error(response)["code"] == "insufficient_permissions"
    assert (await m.get(f"/v1/users/{owner_id}")).json()["role"] == "owner"
    # the owner can promote the admin
    ok = await m.post(f"/v1/users/{admin_id}", {"role": "owner"}, key=s["access_token"])
    assert ok.json()["role"] == "owner"


async def test_the_last_owner_stays(client: httpx.AsyncClient) -> None:
    m, s = await owner(client)
    me = s["user"]["id"]
    token = s["access_token"]
    for data, param in (({"role": "admin"}, "role"), ({"status": "disabled"}, "status")):
        response = await m.post(f"/v1/users/{me}", data, key=token)
        assert response.status_code == 400, response.text
        assert error(response)["param"] == param
        assert error(response)["code"] == "last_owner"
    deleted = await m.client.delete(f"/v1/users/{me}", headers=bearer(token))
    assert deleted.status_code == 400
    assert error(deleted)["code"] == "last_owner"
    after = (await m.get(f"/v1/users/{me}", key=token)).json()
    assert (after["role"], after["status"]) == ("owner", "active")
    # with a second owner, the first may step down
    second, _ = await add_user(m, "owner", key=token)
    stepped = await m.post(f"/v1/users/{me}", {"role": "admin"}, key=token)
    assert stepped.status_code == 200
    assert (await m.get(f"/v1/users/{second}")).json()["role"] == "owner"


async def test_disabling_deleting_or_changing_a_role_ends_sessions(
    client: httpx.AsyncClient,
) -> None:
    m, s = await owner(client)
    dev_id, dev_email = await add_user(m, "developer")
    dev = await session_for(client, dev_email)
    assert (await m.get("/v1/payment_intents", key=dev["access_token"])).status_code == 200
    disabled = await m.post(f"/v1/users/{dev_id}", {"status": "disabled"}, key=s["access_token"])
    assert disabled.json()["status"] == "disabled"
    denied = await m.get("/v1/payment_intents", key=dev["access_token"])
    assert denied.status_code == 401
    assert error(denied)["code"] == "session_revoked"
    assert (
        await client.post("/v1/auth/refresh", data={"refresh_token": dev["refresh_token"]})
    ).status_code == 401
    no_login = await login(client, dev_email)
    assert no_login.status_code == 401
    assert error(no_login)["code"] == "invalid_credentials"

    viewer_id, viewer_email = await add_user(m, "viewer")
    viewer = await session_for(client, viewer_email)
    await m.post(f"/v1/users/{viewer_id}", {"role": "admin"})
    assert (await m.get("/v1/account", key=viewer["access_token"])).status_code == 401
    assert (await session_for(client, viewer_email))["user"]["role"] == "admin"

    removed = await m.client.delete(f"/v1/users/{viewer_id}", headers=m.headers())
    assert removed.json() == {"id": viewer_id, "object": "user", "deleted": True}
    assert (await m.get(f"/v1/users/{viewer_id}")).status_code == 404
    assert (await login(client, viewer_email)).status_code == 401


async def test_password_change(client: httpx.AsyncClient) -> None:
    m, s = await owner(client)
    other = await session_for(client, m.body["email"])
    token = s["access_token"]
    path = "/v1/users/me/password"
    wrong = await m.post(path, {"current_password": "x" * 12, "new_password": "y" * 12}, key=token)
    assert wrong.status_code == 400
    assert error(wrong)["param"] == "current_password"
    short = await m.post(path, {"current_password": PASSWORD, "new_password": "short"}, key=token)
    assert short.status_code == 400
    assert error(short)["param"] == "new_password"
    assert (await m.get("/v1/account", key=other["access_token"])).status_code == 200

    new = "another long passphrase"
    changed = await m.post(path, {"current_password": PASSWORD, "new_password": new}, key=token)
    assert changed.status_code == 200, changed.text
    assert (await m.get("/v1/account", key=token)).status_code == 200  # this session stays
    assert (await m.get("/v1/account", key=other["access_token"])).status_code == 401
    assert (await login(client, m.body["email"])).status_code == 401
    assert (await login(client, m.body["email"], new)).status_code == 200


# --- login -------------------------------------------------------------------------------------


async def test_login_errors_say_nothing_about_which_part_was_wrong(
    client: httpx.AsyncClient,
) -> None:
    m, _ = await owner(client)
    unknown = await login(client, f"nobody-{secrets.token_hex(4)}@example.com")
    wrong = await login(client, m.body["email"], "not the password at all")
    assert unknown.status_code == wrong.status_code == 401
    assert error(unknown) == error(wrong)
    assert error(unknown)["code"] == "invalid_credentials"
    for data, param in (
        ({"email": m.body["email"]}, "password"),
        ({"password": PASSWORD}, "email"),
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": m.body["email"], "password": PASSWORD, "livemode": "true"}, "livemode"),
        ({"email": m.body["email"], "password": PASSWORD, "role": "owner"}, "role"),
    ):
        response = await client.post("/v1/auth/login", data=data)
        assert response.status_code == 400, response.text
        assert error(response)["param"] == param


async def test_sign_up_with_a_bad_password_changes_nothing(client: httpx.AsyncClient) -> None:
    email = f"weak-{secrets.token_hex(4)}@example.com"
    for bad in ("short", "x" * 257):
        response = await client.post(
            "/v1/merchants",
            data={
                "business_name": "Shop",
                "email": email,
                "stacks_address": "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG",
                "password": bad,
            },
        )
        assert response.status_code == 400
        assert error(response)["param"] == "password"
    m = await sign_up(client, email=email)  # the email is still free
    assert m.body["email"] == email
    bad_user = await m.post("/v1/users", {"email": "u@example.com", "role": "admin"})
    assert error(bad_user)["param"] == "password"
    bad_role = await m.post(
        "/v1/users", {"email": "u@example.com", "role": "boss", "password": PASSWORD}
    )
    assert error(bad_role)["param"] == "role"
    assert (await m.get("/v1/users")).json()["data"] == []


async def test_one_email_in_several_accounts_needs_merchant(client: httpx.AsyncClient) -> None:
    a, _ = await owner(client)
    email = a.body["email"]
    b = await sign_up(client)
    await b.post("/v1/users", {"email": email, "role": "viewer", "password": PASSWORD})
    ambiguous = await login(client, email)
    assert ambiguous.status_code == 400
    assert error(ambiguous)["param"] == "merchant"
    assert a.id not in ambiguous.text
    assert b.id not in ambiguous.text
    chosen = await login(client, email, merchant=b.id)
    assert chosen.status_code == 200
    assert claims_of(chosen.json()["access_token"])["merchant_id"] == b.id
    assert chosen.json()["user"]["role"] == "viewer"


async def test_publishable_keys_cannot_manage_users(client: httpx.AsyncClient) -> None:
    m, _ = await owner(client)
    response = await m.get("/v1/users", key=m.pk)
    assert response.status_code == 403
    assert error(response)["code"] == "secret_key_required"


async def test_user_list_pages(client: httpx.AsyncClient) -> None:
    m, s = await owner(client)
    ids = [(await add_user(m, "viewer"))[0] for _ in range(3)]
    first = (await m.get("/v1/users", {"limit": 2}, key=s["access_token"])).json()
    assert first["has_more"] is True
    assert [u["id"] for u in first["data"]] == ids[::-1][:2]
    rest = (
        await m.get("/v1/users", {"limit": 2, "starting_after": first["data"][-1]["id"]})
    ).json()
    assert [u["id"] for u in rest["data"]] == [ids[0], s["user"]["id"]]
    assert rest["has_more"] is False


# --- every route declares a permission -------------------------------------------------------

PUBLIC = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/status"),
    ("GET", "/status.json"),
    ("GET", "/static/{path:path}"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    # the built web pages and files (clients of the API: they hold no data)
    ("GET", "/docs"),
    ("GET", "/docs/errors"),
    ("GET", "/checkout/{intent_id}"),
    ("GET", "/receipts/{intent_id}"),
    ("GET", "/v1/widget.js"),
    ("GET", "/static/{path:path}"),
    ("GET", "/v1/error_codes"),  # the error catalogue
    ("GET", "/.well-known/jwks.json"),
    ("POST", "/v1/merchants"),  # sign-up
    ("POST", "/v1/auth/login"),
    ("POST", "/v1/auth/refresh"),
    # chain pushes carry their own bearer token (SBTC_CHAIN_PUSH_TOKEN)
    ("POST", "/chain/chainhook"),
    ("POST", "/chain/new_block"),
    ("POST", "/chain/new_burn_block"),
    ("POST", "/chain/new_mempool_tx"),
    # platform operators: their own tokens, not merchants' (tests/platform/test_endpoints.py)
    ("GET", "/v1/platform/health"),
    ("GET", "/v1/platform/analytics/realtime"),
}


def all_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route in routes:
        context = getattr(route, "include_context", None)
        if context is not None:
            found += all_routes(context.included_router.routes, prefix + context.prefix)
        elif getattr(route, "methods", None):
            found += [(m, prefix + route.path) for m in route.methods if m != "HEAD"]
    return found


async def test_every_route_is_public_or_checks_a_permission(
    client: httpx.AsyncClient, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the viewer role emptied, every non-public route must answer a viewer 403: so every
    route asks the permission table, and none can forget to."""
    m, _ = await owner(client)
    _, email = await add_user(m, "viewer")
    viewer = (await session_for(client, email))["access_token"]
    monkeypatch.setitem(roles.ROLE_PERMISSIONS, roles.Role.VIEWER, frozenset())
    routes = all_routes(app.routes)
    assert len(routes) > 30
    checked = 0
    for method, path in sorted(set(routes)):
        if (method, path) in PUBLIC:
            continue
        url = path.replace("{", "x_").replace("}", "")
        response = await client.request(method, url, headers=bearer(viewer))
        assert response.status_code == 403, (method, path, response.text)
        assert error(response)["code"] == "insufficient_permissions", (method, path)
        checked += 1
    assert checked >= 30
    unknown = PUBLIC - set(routes)
    assert not unknown, f"public routes that no longer exist: {unknown}"


async def test_an_expired_refresh_token_is_refused(client: httpx.AsyncClient, app: Any) -> None:
    from sqlalchemy import update

    from sbtc_gateway.users.models import RefreshToken

    _, s = await owner(client)
    async with app.state.gateway.sessions.begin() as session:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == s["user"]["id"])
            .values(expires_at=int(time.time()) - 1)
        )
    response = await client.post("/v1/auth/refresh", data={"refresh_token": s["refresh_token"]})
    assert response.status_code == 401
    assert error(response)["code"] == "refresh_token_invalid"


async def test_a_session_ends_30_days_after_its_login_however_often_refreshed(
    client: httpx.AsyncClient, app: Any
) -> None:
    from sqlalchemy import update

    from sbtc_gateway.core.ids import _encode, created_ms, new_id
    from sbtc_gateway.users.models import RefreshToken

    _, s = await owner(client)
    fresh = (
        await client.post("/v1/auth/refresh", data={"refresh_token": s["refresh_token"]})
    ).json()
    assert fresh["refresh_expires_in"] == 7 * 24 * 3600  # far from the cap: the full week
    max_age = app.state.gateway.settings.jwt_session_max_seconds
    assert max_age == 30 * 24 * 3600
    # the same session, as if its login had been 30 days minus one hour ago
    logged_in_ms = (int(time.time()) - max_age + 3600) * 1000
    family = "rtf_" + _encode(logged_in_ms, 10) + new_id("x")[-16:]
    assert created_ms(family) == logged_in_ms
    async with app.state.gateway.sessions.begin() as session:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == s["user"]["id"])
            .values(family_id=family)
        )
    capped = await client.post("/v1/auth/refresh", data={"refresh_token": fresh["refresh_token"]})
    assert capped.status_code == 200, capped.text
    assert 3500 <= capped.json()["refresh_expires_in"] <= 3600  # expires with the session
    # and once the session is older than the cap, refreshing is refused
    logged_in_ms -= 2 * 3600 * 1000
    async with app.state.gateway.sessions.begin() as session:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == s["user"]["id"])
            .values(family_id="rtf_" + _encode(logged_in_ms, 10) + new_id("x")[-16:])
        )
    ended = await client.post(
        "/v1/auth/refresh", data={"refresh_token": capped.json()["refresh_token"]}
    )
    assert ended.status_code == 401
    assert error(ended)["code"] == "session_expired"


async def test_two_owners_demoting_each_other_at_once_leave_one(
    client: httpx.AsyncClient,
) -> None:
    m, first = await owner(client)
    second_id, second_email = await add_user(m, "owner")
    second = await session_for(client, second_email)
    results = await asyncio.gather(
        m.post(f"/v1/users/{second_id}", {"role": "admin"}, key=first["access_token"]),
        m.post(f"/v1/users/{first['user']['id']}", {"role": "admin"}, key=second["access_token"]),
    )
    # one wins; the other is refused (last owner, or its own session already ended)
    codes = sorted(r.status_code for r in results)
    assert codes[0] == 200
    assert codes[1] in (400, 401), [r.text for r in results]
    users = (await m.get("/v1/users")).json()["data"]
    assert [u["role"] for u in users].count("owner") == 1


async def test_unknown_email_costs_one_verify_and_old_hashes_are_upgraded(
    client: httpx.AsyncClient, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from argon2 import PasswordHasher
    from sqlalchemy import select, update

    from sbtc_gateway.users import passwords
    from sbtc_gateway.users.models import User

    calls: list[str | None] = []
    verify = passwords._verify

    def counting(stored: str | None, password: str) -> bool:
        calls.append(stored)
        return verify(stored, password)

    monkeypatch.setattr(passwords, "_verify", counting)
    await login(client, f"nobody-{secrets.token_hex(4)}@example.com")
    assert calls == [None]  # checked against the dummy hash

    m, s = await owner(client)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with app.state.gateway.sessions.begin() as session:
        await session.execute(
            update(User).where(User.id == s["user"]["id"]).values(password_hash=weak)
        )
    assert (await login(client, m.body["email"])).status_code == 200
    async with app.state.gateway.sessions() as session:
        stored = await session.scalar(select(User.password_hash).where(User.id == s["user"]["id"]))
    assert stored != weak
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert not passwords.needs_rehash(stored)


async def test_only_owners_change_the_payout_address(client: httpx.AsyncClient) -> None:
    m, s = await owner(client)
    _, email = await add_user(m, "admin")
    admin = (await session_for(client, email))["access_token"]
    new_address = "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM"
    refused = await m.post("/v1/account", {"stacks_address": new_address}, key=admin)
    assert refused.status_code == 403
    assert error(refused)["code"] == "insufficient_permissions"
    assert (await m.post("/v1/account", {"business_name": "By admin"}, key=admin)).is_success
    assert (await m.get("/v1/account")).json()["stacks_address"] != new_address
    changed = await m.post("/v1/account", {"stacks_address": new_address}, key=s["access_token"])
    assert changed.status_code == 200, changed.text
    assert changed.json()["stacks_address"] == new_address
