"""`/v1/webhook_endpoints`: Stripe shapes, secrets shown once and encrypted, bad input, scoping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from sbtc_gateway.config import Settings
from sbtc_gateway.core.crypto import keyring
from sbtc_gateway.merchants import keys
from sbtc_gateway.merchants import service as merchants
from sbtc_gateway.runtime.app import create_app
from sbtc_gateway.webhooks.models import WebhookEndpoint
from sbtc_gateway.webhooks.schemas import WEBHOOK_ENDPOINT_FIELDS
from tests.conftest import MAINNET_ADDRESS, WEBHOOK_KEYS, Merchant, make_settings, sign_up
from tests.webhooks.helpers import create_endpoint

URL = "http://127.0.0.1:9/hook"


async def test_create_shape_and_secret_shown_once(app: Any, merchant: Merchant) -> None:
    body = await create_endpoint(
        merchant,
        URL,
        "payment_intent.succeeded",
        description="orders",
        **{"metadata[team]": "billing"},
    )
    assert list(body) == list(WEBHOOK_ENDPOINT_FIELDS)
    assert body["id"].startswith("we_")
    assert body["object"] == "webhook_endpoint"
    assert body["enabled_events"] == ["payment_intent.succeeded"]
    assert body["status"] == "enabled"
    assert body["livemode"] is False
    assert body["metadata"] == {"team": "billing"}
    secret = body["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 30
    again = (await merchant.get(f"/v1/webhook_endpoints/{body['id']}")).json()
    assert again["secret"] is None
    assert {k: v for k, v in again.items() if k != "secret"} == {
        k: v for k, v in body.items() if k != "secret"
    }
    async with app.state.gateway.sessions() as session:
        row = await session.get(WebhookEndpoint, body["id"])
    assert row is not None
    assert secret not in row.secret_enc
    assert row.secret_enc.startswith("new:")
    assert keyring(WEBHOOK_KEYS).decrypt(row.secret_enc, row.id) == secret


async def test_update_list_delete(merchant: Merchant) -> None:
    first = await create_endpoint(merchant, URL)
    second = await create_endpoint(merchant, URL + "2", "payment_intent.created")
    updated = await merchant.post(
        f"/v1/webhook_endpoints/{first['id']}",
        {
            "url": "http://127.0.0.1:9/new",
            "enabled_events[0]": "payment_intent.canceled",
            "enabled_events[1]": "payment_intent.succeeded",
            "disabled": "true",
        },
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["url"] == "http://127.0.0.1:9/new"
    assert body["enabled_events"] == ["payment_intent.canceled", "payment_intent.succeeded"]
    assert body["status"] == "disabled"
    assert body["secret"] is None
    enabled = await merchant.post(f"/v1/webhook_endpoints/{first['id']}", {"disabled": "false"})
    assert enabled.json()["status"] == "enabled"
    page = (await merchant.get("/v1/webhook_endpoints", {"limit": 1})).json()
    assert page["object"] == "list"
    assert page["has_more"] is True
    assert [e["id"] for e in page["data"]] == [second["id"]]
    deleted = await merchant.client.delete(
        f"/v1/webhook_endpoints/{first['id']}", headers=merchant.headers()
    )
    assert deleted.json() == {"id": first["id"], "object": "webhook_endpoint", "deleted": True}
    missing = await merchant.get(f"/v1/webhook_endpoints/{first['id']}")
    assert missing.status_code == 404
    listed = (await merchant.get("/v1/webhook_endpoints")).json()["data"]
    assert [e["id"] for e in listed] == [second["id"]]


async def test_other_merchant_gets_404(client: httpx.AsyncClient, merchant: Merchant) -> None:
    endpoint = await create_endpoint(merchant, URL)
    other = await sign_up(client)
    for response in (
        await other.get(f"/v1/webhook_endpoints/{endpoint['id']}"),
        await other.post(f"/v1/webhook_endpoints/{endpoint['id']}", {"description": "x"}),
        await other.post(f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret"),
        await other.client.delete(
            f"/v1/webhook_endpoints/{endpoint['id']}", headers=other.headers()
        ),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "resource_missing"
    assert (await other.get("/v1/webhook_endpoints")).json()["data"] == []


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "ftp://example.com/hook",
        "http:///hook",
        "http://exa mple.com/hook",
        "http://user:pw@example.com/hook",
        "http://example.com:99999/hook",
        "https://example.com/" + "a" * 2100,
        "javascript:alert(1)",
    ],
)
async def test_invalid_urls(merchant: Merchant, url: str) -> None:
    response = await merchant.post("/v1/webhook_endpoints", {"url": url, "enabled_events[]": "*"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "url"


async def test_unknown_event_types(merchant: Merchant) -> None:
    response = await merchant.post(
        "/v1/webhook_endpoints",
        {"url": URL, "enabled_events[0]": "payment_intent.created", "enabled_events[1]": "x.y"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "enabled_events[1]"
    missing = await merchant.post("/v1/webhook_endpoints", {"url": URL})
    assert missing.status_code == 400
    assert missing.json()["error"]["param"] == "enabled_events"
    star = await create_endpoint(merchant, URL, "*")
    update = await merchant.post(
        f"/v1/webhook_endpoints/{star['id']}", {"enabled_events[0]": "charge.captured"}
    )
    assert update.status_code == 400
    assert update.json()["error"]["param"] == "enabled_events[0]"


async def test_oversized_metadata_and_unknown_params(merchant: Merchant) -> None:
    too_many = {f"metadata[k{i}]": "v" for i in range(51)}
    response = await merchant.post(
        "/v1/webhook_endpoints", {"url": URL, "enabled_events[]": "*", **too_many}
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "metadata"
    long_value = await merchant.post(
        "/v1/webhook_endpoints", {"url": URL, "enabled_events[]": "*", "metadata[k]": "v" * 501}
    )
    assert long_value.status_code == 400
    assert long_value.json()["error"]["param"] == "metadata"
    unknown = await merchant.post(
        "/v1/webhook_endpoints", {"url": URL, "enabled_events[]": "*", "connect": "true"}
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "parameter_unknown"


async def test_endpoint_limit(client: httpx.AsyncClient) -> None:
    shop = await sign_up(client)
    for i in range(16):
        await create_endpoint(shop, f"{URL}{i}")
    response = await shop.post("/v1/webhook_endpoints", {"url": URL, "enabled_events[]": "*"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "webhook_endpoint_limit_reached"


async def test_rotate_secret(app: Any, merchant: Merchant) -> None:
    endpoint = await create_endpoint(merchant, URL)
    rotated = await merchant.post(
        f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret", {"expires_in": 3600}
    )
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != endpoint["secret"]
    async with app.state.gateway.sessions() as session:
        row = await session.get(WebhookEndpoint, endpoint["id"])
    assert row is not None
    assert row.previous_secret_enc is not None
    ring = keyring(WEBHOOK_KEYS)
    assert ring.decrypt(row.previous_secret_enc, row.id) == endpoint["secret"]
    bad = await merchant.post(
        f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret", {"expires_in": 8 * 86400}
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "expires_in"


async def test_old_encryption_key_still_decrypts(app: Any, merchant: Merchant) -> None:
    """Rotating SBTC_WEBHOOK_ENCRYPTION_KEYS: rows under the old key id keep working."""
    from sbtc_gateway.core.crypto import Keyring, parse_keys

    old_only = Keyring([k for k in parse_keys(WEBHOOK_KEYS) if k[0] == "old"])
    endpoint = await create_endpoint(merchant, URL)
    async with app.state.gateway.sessions.begin() as session:
        row = await session.get(WebhookEndpoint, endpoint["id"])
        assert row is not None
        row.secret_enc = old_only.encrypt(endpoint["secret"], row.id)
    async with app.state.gateway.sessions() as session:
        stored = await session.scalar(
            select(WebhookEndpoint.secret_enc).where(WebhookEndpoint.id == endpoint["id"])
        )
    assert stored is not None
    assert stored.startswith("old:")
    assert keyring(WEBHOOK_KEYS).decrypt(stored, endpoint["id"]) == endpoint["secret"]


async def test_openapi_documents_webhook_endpoints(
    client: httpx.AsyncClient, merchant: Merchant
) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {"get", "post"} <= set(spec["paths"]["/v1/webhook_endpoints"])
    assert {"get", "post", "delete"} <= set(spec["paths"]["/v1/webhook_endpoints/{endpoint_id}"])
    assert "post" in spec["paths"]["/v1/events/{event_id}/retry"]
    body = await create_endpoint(merchant, URL)
    assert set(spec["components"]["schemas"]["WebhookEndpoint"]["properties"]) == set(body)


@pytest_asyncio.fixture(scope="module")
async def live(settings: Settings) -> AsyncIterator[tuple[Merchant, str]]:
    live_settings = make_settings(
        settings.resolved_database_url,
        settings.data_dir,
        mode="live",
        live_gateway_contract=f"{MAINNET_ADDRESS}.sbtc-payment-gateway",
    )
    app = create_app(live_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
            merchant = await sign_up(c)
            async with app.state.gateway.sessions.begin() as session:
                _, issued = await merchants.activate(
                    session, merchant.id, MAINNET_ADDRESS, key_secret=app.state.gateway.key_secret
                )
            live = next(k for k in issued if k.kind == "secret")
            key_secret = app.state.gateway.key_secret
            merchant.add_key(live.plaintext, keys.signing_secret(key_secret, live.digest))
            yield merchant, live.plaintext


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hook",  # live endpoints need https
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://172.16.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[fd00:ec2::254]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://100.64.0.1/hook",
    ],
)
async def test_live_mode_refuses_private_addresses(live: tuple[Merchant, str], url: str) -> None:
    merchant, live_sk = live
    response = await merchant.post(
        "/v1/webhook_endpoints", {"url": url, "enabled_events[]": "*"}, key=live_sk
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "url"
    assert response.json()["error"]["code"] == "url_invalid"


async def test_live_mode_accepts_public_https(live: tuple[Merchant, str]) -> None:
    merchant, live_sk = live
    response = await merchant.post(
        "/v1/webhook_endpoints",
        {"url": "https://93.184.215.14/hook", "enabled_events[]": "*"},
        key=live_sk,
    )
    assert response.status_code == 200, response.text
    assert response.json()["livemode"] is True
    # Test-mode keys on a live gateway: http is allowed, private addresses are not.
    test_mode = await merchant.post(
        "/v1/webhook_endpoints", {"url": "http://127.0.0.1/hook", "enabled_events[]": "*"}
    )
    assert test_mode.status_code == 400
    listed = (await merchant.get("/v1/webhook_endpoints", key=live_sk)).json()["data"]
    assert [e["livemode"] for e in listed] == [True]
