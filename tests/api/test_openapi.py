"""The OpenAPI document (`api/openapi.py`) describes every endpoint and every response field."""

from __future__ import annotations

import httpx

from tests.conftest import Merchant

ENDPOINTS = {
    ("post", "/v1/merchants"),
    ("get", "/v1/account"),
    ("post", "/v1/account"),
    ("post", "/v1/api_keys/rotate"),
    ("post", "/v1/payment_intents"),
    ("get", "/v1/payment_intents"),
    ("get", "/v1/payment_intents/search"),
    ("get", "/v1/payment_intents/{intent_id}"),
    ("post", "/v1/payment_intents/{intent_id}"),
    ("post", "/v1/payment_intents/{intent_id}/confirm"),
    ("post", "/v1/payment_intents/{intent_id}/cancel"),
    ("get", "/v1/events"),
    ("get", "/v1/events/{event_id}"),
    ("post", "/v1/events/{event_id}/retry"),
    ("post", "/v1/webhook_endpoints"),
    ("get", "/v1/webhook_endpoints"),
    ("get", "/v1/webhook_endpoints/{endpoint_id}"),
    ("post", "/v1/webhook_endpoints/{endpoint_id}"),
    ("delete", "/v1/webhook_endpoints/{endpoint_id}"),
    ("post", "/v1/webhook_endpoints/{endpoint_id}/rotate_secret"),
    ("post", "/v1/webhook_endpoints/{endpoint_id}/test"),
    ("get", "/v1/webhook_endpoints/{endpoint_id}/attempts"),
    ("get", "/.well-known/jwks.json"),
    ("post", "/v1/auth/login"),
    ("post", "/v1/auth/refresh"),
    ("post", "/v1/auth/logout"),
    ("get", "/v1/users"),
    ("post", "/v1/users"),
    ("get", "/v1/users/me"),
    ("post", "/v1/users/me/password"),
    ("get", "/v1/users/{user_id}"),
    ("post", "/v1/users/{user_id}"),
    ("delete", "/v1/users/{user_id}"),
    ("get", "/health"),
    ("get", "/ready"),
}


async def test_openapi_lists_every_endpoint(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    present = {(m, p) for p, ops in spec["paths"].items() for m in ops}
    assert present >= ENDPOINTS
    create = spec["paths"]["/v1/payment_intents"]["post"]
    form = create["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    ref = form["$ref"].rsplit("/", 1)[-1]
    assert {"amount", "currency", "metadata"} <= set(
        spec["components"]["schemas"][ref]["properties"]
    )
    for public in ("/v1/auth/login", "/v1/auth/refresh"):
        assert spec["paths"][public]["post"]["security"] == []
    assert "security" not in spec["paths"]["/v1/users"]["get"]  # the global bearer scheme
    search = spec["paths"]["/v1/payment_intents/search"]["get"]
    assert any(p["name"] == "query" and p["required"] for p in search["parameters"])


async def test_documented_fields_match_responses(
    client: httpx.AsyncClient, merchant: Merchant
) -> None:
    spec = (await client.get("/openapi.json")).json()["components"]["schemas"]
    pi = await merchant.create_intent()
    assert set(spec["PaymentIntent"]["properties"]) == set(pi)
    account = (await merchant.get("/v1/account")).json()
    assert set(spec["Account"]["properties"]) == set(account)
    event = (await merchant.get("/v1/events")).json()["data"][0]
    assert set(spec["Event"]["properties"]) == set(event)

    password = "a long enough password"
    created = await merchant.post(
        "/v1/users", {"email": "docs@example.com", "role": "owner", "password": password}
    )
    assert set(spec["User"]["properties"]) == set(created.json())
    login = await merchant.client.post(
        "/v1/auth/login", data={"email": "docs@example.com", "password": password}
    )
    session = login.json()
    assert set(spec["AuthSession"]["properties"]) == set(session)
    assert set(spec["User"]["properties"]) == set(session["user"])
    token = session["access_token"]
    jwks = (await merchant.client.get("/.well-known/jwks.json")).json()
    assert set(spec["Jwks"]["properties"]) == set(jwks)
    other = await merchant.post(
        "/v1/users", {"email": "gone@example.com", "role": "viewer", "password": password}
    )
    deleted = await merchant.client.delete(
        f"/v1/users/{other.json()['id']}", headers=merchant.headers(token)
    )
    assert set(spec["DeletedUser"]["properties"]) == set(deleted.json())
    logout = await merchant.post("/v1/auth/logout", key=token)
    assert set(spec["Logout"]["properties"]) == set(logout.json())
