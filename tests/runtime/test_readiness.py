"""`/health` and `/ready` (`runtime/readiness.py`): the database decides, Redis and the Stacks API
down are `degraded`."""

from __future__ import annotations

from typing import Any

import httpx

from sbtc_gateway.config import Settings
from tests.api.helpers import settings_variant, signup_data
from tests.conftest import sign_up


async def test_ready_reports_database_and_redis(
    client: httpx.AsyncClient, sqlite_settings: Settings, make_instance: Any, redis_url: str
) -> None:
    body = (await client.get("/ready")).json()
    in_process = await make_instance(settings_variant(sqlite_settings, redis_url=None))
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
    with_redis = await make_instance(settings_variant(sqlite_settings, redis_url=redis_url))
    assert (await with_redis.client.get("/ready")).json()["redis"] == "up"
    from tests.conftest import free_port

    dead = await make_instance(
        settings_variant(sqlite_settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    )
    response = await dead.client.get("/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["redis"] == "down"
    # and the API still answers
    assert (await dead.client.post("/v1/merchants", data=signup_data())).status_code == 200


async def test_ready_reports_a_contract_that_does_not_take_our_key_as_degraded(
    sqlite_settings: Settings, make_instance: Any
) -> None:
    """A gateway whose signing key is not the contract's cannot have a payment succeed:
    `/ready` says so (and confirmations answer `gateway_key_mismatch`)."""
    from pydantic import SecretStr

    other = await make_instance(
        settings_variant(sqlite_settings, gateway_signing_key=SecretStr("22" * 32))
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
        settings_variant(sqlite_settings, test_stacks_api_url=f"http://127.0.0.1:{free_port()}")
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


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json()["status"] == "ok"
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["database"] == "up"
