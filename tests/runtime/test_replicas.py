"""Two app instances (replicas) on one Redis: a revoked key stops working on the other replica
as soon as the invalidation arrives, rate limits are shared, and the payment-intent cache never
serves a copy older than a committed change."""

from __future__ import annotations

import asyncio
from typing import Any

from sbtc_gateway.config import Settings
from tests.conftest import OTHER_ADDRESS, TEST_ADDRESS, Merchant, sign_up


async def _replicas(
    sqlite_settings: Settings, make_instance: Any, redis_url: str, prefix: str, **extra: Any
) -> tuple[Any, Any]:
    settings = sqlite_settings.model_copy(
        update={"redis_url": redis_url, "redis_key_prefix": prefix, **extra}
    )
    a = await make_instance(settings)
    b = await make_instance(settings)
    for replica in (a, b):
        await asyncio.wait_for(replica.gateway.shared.pubsub.ready.wait(), 10)
    return a, b


def watch_clear(cache: Any) -> asyncio.Event:
    """An event set when `cache` is next cleared (the pub/sub invalidation reached it)."""
    cleared = asyncio.Event()
    original = cache.clear

    def clear() -> None:
        original()
        cleared.set()

    cache.clear = clear
    return cleared


async def test_revoked_key_stops_working_on_every_replica(
    sqlite_settings: Settings, make_instance: Any, redis_url: str, redis_prefix: str
) -> None:
    a, b = await _replicas(sqlite_settings, make_instance, redis_url, redis_prefix)
    body = (await sign_up(a.client)).body
    on_a, on_b = Merchant(a.client, body), Merchant(b.client, body)
    assert (await on_a.get("/v1/account")).status_code == 200  # now cached on A
    hit, cached = a.gateway.authenticator.keys_cache.get(_digest(a, on_a.sk))
    assert hit
    assert cached is not None

    cleared = watch_clear(a.gateway.authenticator.keys_cache)
    rotated = await on_b.post("/v1/api_keys/rotate", {"expires_in": 0})
    assert rotated.status_code == 200
    await asyncio.wait_for(cleared.wait(), 10)  # the pub/sub message reached A
    assert (await on_a.get("/v1/account")).status_code == 401
    assert (await on_a.get("/v1/account", key=rotated.json()["secret"])).status_code == 200


def _digest(instance: Any, key: str) -> str:
    from sbtc_gateway.merchants import keys

    return keys.digest(instance.gateway.key_secret, key)


async def test_rate_limit_is_shared_between_replicas(
    sqlite_settings: Settings, make_instance: Any, redis_url: str, redis_prefix: str
) -> None:
    a, b = await _replicas(
        sqlite_settings, make_instance, redis_url, redis_prefix, rate_limit_per_minute=4
    )
    body = (await sign_up(a.client)).body
    codes = []
    for i in range(5):
        replica = a if i % 2 == 0 else b
        codes.append((await Merchant(replica.client, body).get("/v1/account")).status_code)
    assert codes == [200, 200, 200, 200, 429]


async def test_intent_cache_follows_changes_made_on_another_replica(
    sqlite_settings: Settings, make_instance: Any, redis_url: str, redis_prefix: str
) -> None:
    a, b = await _replicas(sqlite_settings, make_instance, redis_url, redis_prefix)
    body = (await sign_up(a.client)).body
    on_a, on_b = Merchant(a.client, body), Merchant(b.client, body)
    pi = await on_a.create_intent()
    path = f"/v1/payment_intents/{pi['id']}"
    assert (await on_a.get(path)).json()["status"] == "requires_payment_method"
    cache = a.gateway.intents
    cached, _ = await cache.get(on_a.id, False, pi["id"])
    assert cached is not None  # A serves it from Redis now

    canceled = await on_b.post(f"{path}/cancel")
    assert canceled.status_code == 200
    # the cancel committed on B, then invalidated: A must not serve the old copy
    assert (await on_a.get(path)).json()["status"] == "canceled"
    # the publishable view is served from the same cache and checks the client secret
    pk = await on_a.get(path, {"client_secret": pi["client_secret"]}, key=on_a.pk)
    assert pk.status_code == 200
    assert pk.json()["status"] == "canceled"
    assert pk.json()["metadata"] is None
    wrong = await on_a.get(path, {"client_secret": pi["client_secret"] + "x"}, key=on_a.pk)
    assert wrong.status_code == 404


async def test_intent_cache_in_process(client: Any, merchant: Merchant) -> None:
    pi = await merchant.create_intent()
    path = f"/v1/payment_intents/{pi['id']}"
    assert (await merchant.get(path)).json()["description"] is None
    updated = await merchant.post(path, {"description": "changed"})
    assert updated.status_code == 200
    assert (await merchant.get(path)).json()["description"] == "changed"


async def test_a_payout_address_change_reaches_every_replica_for_new_intents(
    sqlite_settings: Settings, make_instance: Any, redis_url: str, redis_prefix: str
) -> None:
    a, b = await _replicas(sqlite_settings, make_instance, redis_url, redis_prefix)
    body = (await sign_up(a.client)).body
    on_a, on_b = Merchant(a.client, body), Merchant(b.client, body)
    first = await on_a.create_intent()  # A now caches the merchant's payout address
    assert a.gateway.merchant_terms.cache.get(on_a.id)[0]
    cleared = watch_clear(a.gateway.merchant_terms.cache)
    new_address = OTHER_ADDRESS
    changed = await on_b.post("/v1/account", {"stacks_address": new_address}, signed=True)
    assert changed.status_code == 200, changed.text
    await asyncio.wait_for(cleared.wait(), 10)
    second = await on_a.create_intent()
    payouts = {}
    for intent in (first, second):
        confirmed = await on_a.post(f"/v1/payment_intents/{intent['id']}/confirm")
        call = confirmed.json()["next_action"]["sbtc_contract_call"]
        payouts[intent["id"]] = call["function_args_repr"][2]  # merchant: the payout address
    assert payouts[first["id"]] == f"merchant: '{TEST_ADDRESS}"
    assert payouts[second["id"]] == f"merchant: '{new_address}"
