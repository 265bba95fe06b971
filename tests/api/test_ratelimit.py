"""Rate limits at the edge (`api/ratelimit.py`): per key by tier, per client IP, their headers,
the Stripe SDK's `RateLimitError`, and the in-process fallback while Redis is away."""

from __future__ import annotations

from typing import Any

import pytest

from sbtc_gateway.config import Settings
from tests.api.helpers import settings_variant, signup_data
from tests.conftest import Merchant, sign_up

LIMITED = {
    "rate_limit_per_minute": 3,
    "anonymous_rate_limit_per_minute": 4,
    "signup_rate_limit_per_hour": 2,
}


async def test_per_key_limit_with_headers_and_stripe_429(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    open_ = await make_instance(sqlite_settings)
    merchant = await sign_up(open_.client)
    limited = await make_instance(settings_variant(sqlite_settings, rate_limit_per_minute=3))
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
    limited = await make_instance(settings_variant(sqlite_settings, rate_limit_per_minute=3))
    m = Merchant(limited.client, merchant.body)
    response = await m.get("/v1/account")
    assert response.headers["RateLimit-Limit"] == "6"


async def test_signup_is_limited_per_client_ip(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    settings = settings_variant(sqlite_settings, **LIMITED)
    a = await make_instance(settings, client_addr=("198.51.100.1", 1000))
    b = await make_instance(settings, client_addr=("198.51.100.2", 1000))
    assert (await a.client.post("/v1/merchants", data=signup_data())).status_code == 200
    assert (await a.client.post("/v1/merchants", data=signup_data())).status_code == 200
    refused = await a.client.post("/v1/merchants", data=signup_data())
    assert refused.status_code == 429
    assert refused.headers["RateLimit-Policy"] == "2;w=3600"
    assert (await b.client.post("/v1/merchants", data=signup_data())).status_code == 200


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    settings = settings_variant(sqlite_settings, trusted_proxies="10.0.0.0/8", **LIMITED)
    via_proxy = await make_instance(settings, client_addr=("10.0.0.5", 1000))
    direct = await make_instance(settings, client_addr=("203.0.113.50", 1000))

    async def signup(instance: Any, xff: str) -> int:
        response = await instance.client.post(
            "/v1/merchants", data=signup_data(), headers={"X-Forwarded-For": xff}
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
    instance = await make_instance(settings_variant(sqlite_settings, **LIMITED))
    bad = {"Authorization": "Bearer sk_test_" + "x" * 30}
    codes = [(await instance.client.get("/v1/account", headers=bad)).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 401, 429]


async def test_health_and_metrics_are_not_limited(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    instance = await make_instance(
        settings_variant(sqlite_settings, anonymous_rate_limit_per_minute=1)
    )
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
    with ServerThread(settings_variant(sqlite_settings, rate_limit_per_minute=1)) as server:
        client = stripe.StripeClient(merchant.sk, base_addresses={"api": server.url})
        client.v1.payment_intents.create(params={"amount": 25_000, "currency": "sbtc"})
        with pytest.raises(stripe.RateLimitError) as caught:
            client.v1.payment_intents.create(params={"amount": 25_000, "currency": "sbtc"})
    assert caught.value.json_body["error"]["code"] == "rate_limit"


async def test_limits_hold_while_redis_is_unreachable(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    from sbtc_gateway.observability import metrics
    from tests.conftest import free_port

    open_ = await make_instance(sqlite_settings)
    body = (await sign_up(open_.client)).body
    dead = await make_instance(
        settings_variant(
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
