"""The HTTP edge: rate limits and their headers, compression, CORS, deprecation headers,
/metrics and /ready."""

from __future__ import annotations

import gzip
from typing import Any

import brotli
import httpx
import pytest

from sbtc_gateway.config import Settings
from tests.conftest import TEST_ADDRESS, Merchant, redis_test_prefix, sign_up

LIMITED = {
    "rate_limit_per_minute": 3,
    "anonymous_rate_limit_per_minute": 4,
    "signup_rate_limit_per_hour": 2,
}


def _settings(base: Settings, **overrides: Any) -> Settings:
    """A variant with its own Redis keys (when the suite runs with TEST_SHARED_STATE=redis)."""
    return base.model_copy(update={"redis_key_prefix": redis_test_prefix(), **overrides})


async def test_per_key_limit_with_headers_and_stripe_429(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    open_ = await make_instance(sqlite_settings)
    merchant = await sign_up(open_.client)
    limited = await make_instance(_settings(sqlite_settings, rate_limit_per_minute=3))
    m = Merchant(limited.client, merchant.body)
    responses = [await m.get("/v1/account") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    first = responses[0].headers
    assert first["RateLimit-Limit"] == "3"
    assert first["RateLimit-Remaining"] == "2"
    assert first["RateLimit-Policy"] == "3;w=60"
    assert 1 <= int(first["RateLimit-Reset"]) <= 60
    refused = responses[-1]
    assert refused.json()["error"]["type"] == "invalid_request_error"
    assert refused.json()["error"]["code"] == "rate_limit"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert refused.headers["Request-Id"].startswith("req_")
    # another merchant has its own budget
    other = Merchant(limited.client, (await sign_up(open_.client)).body)
    assert (await other.get("/v1/account")).status_code == 200


async def test_tier_multiplies_the_limit(sqlite_settings: Settings, make_instance: Any) -> None:
    open_ = await make_instance(sqlite_settings)
    merchant = await sign_up(open_.client, tier="growth")  # x2
    limited = await make_instance(_settings(sqlite_settings, rate_limit_per_minute=3))
    m = Merchant(limited.client, merchant.body)
    response = await m.get("/v1/account")
    assert response.headers["RateLimit-Limit"] == "6"


async def test_signup_is_limited_per_client_ip(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    settings = _settings(sqlite_settings, **LIMITED)
    a = await make_instance(settings, client_addr=("198.51.100.1", 1000))
    b = await make_instance(settings, client_addr=("198.51.100.2", 1000))
    assert (await a.client.post("/v1/merchants", data=_signup())).status_code == 200
    assert (await a.client.post("/v1/merchants", data=_signup())).status_code == 200
    refused = await a.client.post("/v1/merchants", data=_signup())
    assert refused.status_code == 429
    assert refused.headers["RateLimit-Policy"] == "2;w=3600"
    assert (await b.client.post("/v1/merchants", data=_signup())).status_code == 200


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    settings = _settings(sqlite_settings, trusted_proxies="10.0.0.0/8", **LIMITED)
    via_proxy = await make_instance(settings, client_addr=("10.0.0.5", 1000))
    direct = await make_instance(settings, client_addr=("203.0.113.50", 1000))

    async def signup(instance: Any, xff: str) -> int:
        response = await instance.client.post(
            "/v1/merchants", data=_signup(), headers={"X-Forwarded-For": xff}
        )
        return int(response.status_code)

    # Behind the proxy, each real client has its own budget, whatever it writes on the left.
    assert [await signup(via_proxy, f"1.1.1.1, 198.51.100.{i}") for i in (7, 7, 7, 8)] == [
        200,
        200,
        429,
        200,
    ]
    # A direct client cannot pick a fresh address with the header.
    assert [await signup(direct, f"198.51.100.{i}") for i in (20, 21, 22)] == [200, 200, 429]


async def test_bad_keys_are_limited_per_ip(sqlite_settings: Settings, make_instance: Any) -> None:
    instance = await make_instance(_settings(sqlite_settings, **LIMITED))
    bad = {"Authorization": "Bearer sk_test_" + "x" * 30}
    codes = [(await instance.client.get("/v1/account", headers=bad)).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 401, 429]


async def test_health_and_metrics_are_not_limited(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    instance = await make_instance(_settings(sqlite_settings, anonymous_rate_limit_per_minute=1))
    for _ in range(3):
        assert (await instance.client.get("/health")).status_code == 200
        assert (await instance.client.get("/metrics")).status_code == 200


async def test_stripe_sdk_raises_rate_limit_error(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    import stripe

    from tests.conftest import ServerThread

    open_ = await make_instance(sqlite_settings)
    merchant = await sign_up(open_.client)
    with ServerThread(_settings(sqlite_settings, rate_limit_per_minute=1)) as server:
        client = stripe.StripeClient(merchant.sk, base_addresses={"api": server.url})
        client.v1.payment_intents.create(params={"amount": 25_000, "currency": "sbtc"})
        with pytest.raises(stripe.RateLimitError) as caught:
            client.v1.payment_intents.create(params={"amount": 25_000, "currency": "sbtc"})
    assert caught.value.json_body["error"]["code"] == "rate_limit"


def _signup() -> dict[str, str]:
    import secrets

    return {
        "business_name": "Shop",
        "email": f"edge-{secrets.token_hex(6)}@example.com",
        "stacks_address": TEST_ADDRESS,
    }


# --- compression, CORS, deprecation, operations ----------------------------------------------


async def test_brotli_and_gzip(client: httpx.AsyncClient, merchant: Merchant) -> None:
    for _ in range(3):
        await merchant.create_intent(description="x" * 200)
    for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        response = await client.get(
            "/v1/payment_intents",
            params={"limit": 3},
            headers={**merchant.headers(), "Accept-Encoding": encoding},
        )
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
        # httpx decodes transparently; check the wire bytes too
        assert int(response.headers["Content-Length"]) < len(response.content)
        assert decode(await _raw(client, encoding, merchant)) == response.content
    small = await client.get("/health", headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in small.headers
    refused = await client.get(
        "/v1/payment_intents",
        headers={**merchant.headers(), "Accept-Encoding": "br;q=0, gzip;q=0"},
    )
    assert "Content-Encoding" not in refused.headers


async def _raw(client: httpx.AsyncClient, encoding: str, merchant: Merchant) -> bytes:
    request = client.build_request(
        "GET",
        "/v1/payment_intents",
        params={"limit": 3},
        headers={**merchant.headers(), "Accept-Encoding": encoding},
    )
    response = await client.send(request, stream=True)
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return raw


async def test_cors_preflight_and_exposed_headers(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/v1/payment_intents/pi_123/confirm",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    response = await client.get("/health", headers={"Origin": "https://shop.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "request-id" in response.headers["Access-Control-Expose-Headers"].lower()


async def test_cors_restricted_to_configured_origins(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    instance = await make_instance(_settings(sqlite_settings, cors_origins="https://shop.example"))
    ok = await instance.client.get("/health", headers={"Origin": "https://shop.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    other = await instance.client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


async def test_signup_tier_parameter_is_deprecated(client: httpx.AsyncClient) -> None:
    with_tier = await client.post("/v1/merchants", data={**_signup(), "tier": "growth"})
    assert with_tier.status_code == 200
    assert with_tier.headers["Deprecation"] == "@1795564800"
    assert with_tier.headers["Sunset"] == "Tue, 01 Jun 2027 00:00:00 GMT"
    assert 'rel="deprecation"' in with_tier.headers["Link"]
    without = await client.post("/v1/merchants", data=_signup())
    assert "Deprecation" not in without.headers


async def test_deprecated_endpoint_registry(
    sqlite_settings: Settings, make_instance: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sbtc_gateway.api import deprecation

    gone = deprecation.Deprecation("old-health", deprecated_at=1_700_000_000)
    monkeypatch.setitem(deprecation.ENDPOINTS, ("GET", "/health"), gone)
    instance = await make_instance(sqlite_settings)
    response = await instance.client.get("/health")
    assert response.headers["Deprecation"] == "@1700000000"
    assert "Sunset" not in response.headers


async def test_metrics_exposition(client: httpx.AsyncClient, merchant: Merchant) -> None:
    pi = await merchant.create_intent()
    await merchant.get(f"/v1/payment_intents/{pi['id']}")
    text = (await client.get("/metrics")).text
    assert "sbtc_http_request_duration_seconds_bucket{" in text
    assert 'route="/v1/payment_intents/{intent_id}"' in text
    assert pi["id"] not in text  # route templates, never raw paths
    assert 'sbtc_events_total{type="payment_intent.created"}' in text
    assert 'sbtc_payment_intents_total{livemode="false",status="requires_payment_method"}' in text
    for name in (
        "sbtc_rate_limit_rejections_total",
        "sbtc_redis_degraded",
        "sbtc_webhook_deliveries_total",
        "sbtc_chain_lag_blocks",
        "sbtc_outbox_depth",
    ):
        assert f"# TYPE {name}" in text


async def test_ready_reports_database_and_redis(
    client: httpx.AsyncClient, sqlite_settings: Settings, make_instance: Any, redis_url: str
) -> None:
    body = (await client.get("/ready")).json()
    in_process = await make_instance(_settings(sqlite_settings, redis_url=None))
    ready = (await in_process.client.get("/ready")).json()
    network = sqlite_settings.test_network
    assert ready == {
        "status": "ok",
        "database": "up",
        "redis": "disabled",
        "chain": {
            network: {
                "status": "up",
                "tip_height": ready["chain"][network]["tip_height"],
                "contract": sqlite_settings.test_gateway_contract,
                "gateway_key": "ok",
                "paused": False,
            }
        },
    }
    assert isinstance(ready["chain"][network]["tip_height"], int)
    assert body["database"] == "up"
    with_redis = await make_instance(_settings(sqlite_settings, redis_url=redis_url))
    assert (await with_redis.client.get("/ready")).json()["redis"] == "up"
    from tests.conftest import free_port

    dead = await make_instance(
        _settings(sqlite_settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    )
    response = await dead.client.get("/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["redis"] == "down"
    # and the API still answers
    assert (await dead.client.post("/v1/merchants", data=_signup())).status_code == 200


async def test_ready_reports_a_contract_that_does_not_take_our_key_as_degraded(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    """A gateway whose signing key is not the contract's cannot have a payment succeed:
    `/ready` says so (and confirmations answer `gateway_key_mismatch`)."""
    from pydantic import SecretStr

    other = await make_instance(
        _settings(sqlite_settings, gateway_signing_key=SecretStr("22" * 32))
    )
    response = await other.client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["chain"][sqlite_settings.test_network]["gateway_key"] == "mismatch"


async def test_ready_reports_a_stacks_api_outage_as_degraded(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    """The chain API down keeps the replica in the load balancer: intents can still be created,
    only confirmations wait (503 chain_unavailable)."""
    from sbtc_gateway.observability import metrics
    from tests.conftest import free_port

    dead = await make_instance(
        _settings(sqlite_settings, test_stacks_api_url=f"http://127.0.0.1:{free_port()}")
    )
    response = await dead.client.get("/ready")
    assert response.status_code == 200
    network = sqlite_settings.test_network
    assert response.json() == {
        "status": "degraded",
        "database": "up",
        "redis": response.json()["redis"],
        "chain": {network: {"status": "down"}},
    }
    assert metrics.CHAIN_API_UP.labels(network)._value.get() == 0
    merchant = await sign_up(dead.client)
    assert (await merchant.create_intent())["status"] == "requires_payment_method"


async def test_limits_hold_while_redis_is_unreachable(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    from sbtc_gateway.observability import metrics
    from tests.conftest import free_port

    open_ = await make_instance(sqlite_settings)
    body = (await sign_up(open_.client)).body
    dead = await make_instance(
        _settings(
            sqlite_settings,
            redis_url=f"redis://127.0.0.1:{free_port()}/0",
            rate_limit_per_minute=3,
        )
    )
    m = Merchant(dead.client, body)
    codes = [(await m.get("/v1/account")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # enforced by the in-process fallback
    assert dead.gateway.shared.redis.health.degraded
    assert metrics.REDIS_DEGRADED._value.get() == 1
    text = (await dead.client.get("/metrics")).text
    assert "sbtc_redis_degraded 1.0" in text
    assert "sbtc_redis_errors_total{operation=" in text


def test_database_failures_are_counted() -> None:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from sbtc_gateway.observability import metrics

    counter = metrics.DB_ERRORS.labels("unit")
    before = counter._value.get()
    metrics.count_database_failure(OperationalError("SELECT 1", {}, Exception("gone")), "unit")
    metrics.count_database_failure(ConnectionRefusedError(), "unit")
    metrics.count_database_failure(ProgrammingError("SELEC 1", {}, Exception("typo")), "unit")
    metrics.count_database_failure(ValueError("bug"), "unit")
    assert counter._value.get() == before + 2


async def test_a_client_that_leaves_mid_body_is_a_499_not_a_server_error(
    app: Any, merchant: Merchant
) -> None:
    """wrk stopping, a browser tab closed: not a 5xx (which would page), no trace logged."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/payment_intents",
        "raw_path": b"/v1/payment_intents",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"gateway.test"),
            (b"authorization", f"Bearer {merchant.sk}".encode()),
            (b"content-type", b"application/x-www-form-urlencoded"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    messages = iter(
        [
            {"type": "http.request", "body": b"amount=100", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 499
    assert b"client_closed_request" in sent[1]["body"]
