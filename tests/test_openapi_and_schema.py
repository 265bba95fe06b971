"""The OpenAPI document describes every endpoint, and the migrations match the models."""

from __future__ import annotations

from typing import Any

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from sbtc_gateway.db.models import Base
from sbtc_gateway.db.partitions import include_name
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


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json()["status"] == "ok"
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["database"] == "up"


async def test_migrations_match_models(app: Any) -> None:
    def diff(conn: Connection) -> list[Any]:
        # partitions (PostgreSQL, db/partitions.py) are their parent's storage, not tables
        opts = {"compare_type": True, "include_name": include_name}
        context = MigrationContext.configure(conn, opts=opts)
        return list(compare_metadata(context, Base.metadata))

    async with app.state.gateway.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []
