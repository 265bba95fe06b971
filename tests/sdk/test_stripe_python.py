"""The official `stripe` Python SDK, unchanged but for its base URL, against a real server."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import stripe

from tests.conftest import OTHER_ADDRESS, TEST_ADDRESS, ServerThread


@pytest.fixture
def keys(live_server: ServerThread) -> dict[str, Any]:
    response = httpx.post(
        f"{live_server.url}/v1/merchants",
        data={
            "business_name": "SDK Shop",
            "email": f"sdk-{uuid.uuid4().hex[:10]}@example.com",
            "stacks_address": TEST_ADDRESS,
        },
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _client(server: ServerThread, key: str, retries: int = 0) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": server.url}, max_network_retries=retries)


def test_payment_intent_lifecycle(live_server: ServerThread, keys: dict[str, Any]) -> None:
    client = _client(live_server, keys["secret_key"], retries=2)
    pi = client.v1.payment_intents.create(
        params={
            "amount": 25_000,
            "currency": "sbtc",
            "description": "Order 42",
            "metadata": {"order_id": "42"},
            "payment_method_types": ["sbtc"],
        }
    )
    assert isinstance(pi, stripe.PaymentIntent)
    assert pi.id.startswith("pi_")
    assert pi.status == "requires_payment_method"
    assert pi.amount == 25_000
    assert pi.metadata["order_id"] == "42"
    assert pi.customer is None
    assert pi.latest_charge is None

    retrieved = client.v1.payment_intents.retrieve(pi.id)
    assert retrieved.client_secret == pi.client_secret

    updated = client.v1.payment_intents.update(
        pi.id, params={"metadata": {"order_id": "", "note": "gift"}, "description": ""}
    )
    assert updated.metadata.to_dict() == {"note": "gift"}
    assert updated.description is None

    confirmed = client.v1.payment_intents.confirm(
        pi.id,
        params={"payment_method_data": {"type": "sbtc", "sbtc": {"payer": OTHER_ADDRESS}}},  # type: ignore[typeddict-item]
    )
    assert confirmed.status == "requires_action"
    assert confirmed.next_action is not None
    assert confirmed.next_action.type == "sbtc_contract_call"
    call = confirmed.next_action["sbtc_contract_call"]
    assert call["payer"] == OTHER_ADDRESS
    assert call["amount"] == 25_000

    canceled = client.v1.payment_intents.cancel(pi.id, params={"cancellation_reason": "abandoned"})
    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "abandoned"

    events = client.v1.events.list(params={"limit": 10})
    types = [e.type for e in events.data if e.data.object["id"] == pi.id]
    assert types == [
        "payment_intent.canceled",
        "payment_intent.requires_action",
        "payment_intent.created",
    ]


def test_publishable_key_flow(live_server: ServerThread, keys: dict[str, Any]) -> None:
    server_side = _client(live_server, keys["secret_key"])
    pi = server_side.v1.payment_intents.create(params={"amount": 5000, "currency": "sbtc"})
    browser = _client(live_server, keys["publishable_key"])
    seen = browser.v1.payment_intents.retrieve(pi.id, params={"client_secret": pi.client_secret})
    assert seen.status == "requires_payment_method"
    confirmed = browser.v1.payment_intents.confirm(
        pi.id, params={"client_secret": pi.client_secret}
    )  # type: ignore[typeddict-unknown-key]
    assert confirmed.status == "requires_action"
    with pytest.raises(stripe.PermissionError):
        browser.v1.payment_intents.create(params={"amount": 5000, "currency": "sbtc"})


def test_auto_paging_and_search(live_server: ServerThread, keys: dict[str, Any]) -> None:
    client = _client(live_server, keys["secret_key"])
    created = [
        client.v1.payment_intents.create(
            params={"amount": 1000 + i, "currency": "sbtc", "metadata": {"batch": "p"}}
        ).id
        for i in range(7)
    ]
    page = client.v1.payment_intents.list(params={"limit": 3})
    assert len(page.data) == 3
    assert page.has_more
    assert [pi.id for pi in page.auto_paging_iter()] == list(reversed(created))

    result = client.v1.payment_intents.search(
        params={"query": "metadata['batch']:'p' AND amount>1003", "limit": 2}
    )
    assert result.object == "search_result"
    assert result.has_more
    assert result.next_page
    found = [pi.id for pi in result.auto_paging_iter()]
    assert found == list(reversed(created[4:]))


def test_idempotency_through_the_sdk(live_server: ServerThread, keys: dict[str, Any]) -> None:
    client = _client(live_server, keys["secret_key"])
    key = str(uuid.uuid4())
    first = client.v1.payment_intents.create(
        params={"amount": 5000, "currency": "sbtc"}, options={"idempotency_key": key}
    )
    second = client.v1.payment_intents.create(
        params={"amount": 5000, "currency": "sbtc"}, options={"idempotency_key": key}
    )
    assert first.id == second.id
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(
            params={"amount": 6000, "currency": "sbtc"}, options={"idempotency_key": key}
        )


def test_error_classes(live_server: ServerThread, keys: dict[str, Any]) -> None:
    client = _client(live_server, keys["secret_key"])
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.retrieve("pi_doesnotexist")
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"

    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.payment_intents.create(params={"amount": 5000, "currency": "usd"})  # type: ignore[typeddict-item]
    assert bad.value.param == "currency"

    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.payment_intents.create(
            params={"amount": 5000, "currency": "sbtc", "setup_future_usage": "off_session"}
        )
    assert unknown.value.code == "parameter_unknown"
    assert unknown.value.param == "setup_future_usage"

    pi = client.v1.payment_intents.create(params={"amount": 5000, "currency": "sbtc"})
    client.v1.payment_intents.cancel(pi.id)
    with pytest.raises(stripe.InvalidRequestError) as state:
        client.v1.payment_intents.confirm(pi.id)
    assert state.value.code == "payment_intent_unexpected_state"

    with pytest.raises(stripe.AuthenticationError):
        _client(live_server, "sk_test_" + "Z" * 33).v1.payment_intents.list()
