"""Delivery to a real receiver on 127.0.0.1: signatures the Stripe SDK accepts, faults, limits.

Each fault test breaks the receiver (down, 500, slow beyond the timeout, connection reset,
redirect), waits until every delivery has failed at least once, repairs it, and checks that every
event was then delivered (none lost); duplicates are counted and printed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import stripe
from sqlalchemy import select

from sbtc_gateway.config import Mode, Settings
from sbtc_gateway.events.models import Event
from tests.conftest import Merchant, free_port
from tests.webhooks.helpers import (
    attempts,
    create_endpoint,
    deliveries,
    dispatcher,
    event_ids,
    eventually,
)
from tests.webhooks.receiver import Receiver


async def _make_events(merchant: Merchant, intents: int) -> None:
    for _ in range(intents):
        pi = await merchant.create_intent()
        response = await merchant.post(f"/v1/payment_intents/{pi['id']}/cancel")
        assert response.status_code == 200


def _verify_all(receiver: Receiver, *secrets: str) -> int:
    checked = 0
    for request in receiver.requests:
        for secret in secrets:
            event = stripe.Webhook.construct_event(request.body.decode(), request.signature, secret)
            assert event.id == request.event_id
            checked += 1
    return checked


def _delivered_metric(outcome: str) -> float:
    from sbtc_gateway.observability import metrics

    value: float = metrics.WEBHOOK_DELIVERIES.labels(outcome)._value.get()
    return value


async def test_delivers_signed_events_the_sdk_accepts(app: Any, merchant: Merchant) -> None:
    from sbtc_gateway.observability import metrics

    succeeded_before = _delivered_metric("succeeded")
    latencies_before = metrics.WEBHOOK_LATENCY._sum.get()
    with Receiver() as receiver:
        endpoint = await create_endpoint(merchant, receiver.url)
        await _make_events(merchant, 3)
        expected = set(await event_ids(app, merchant.id))
        assert len(expected) == 6
        async with dispatcher(app) as running:

            async def all_acked() -> bool:
                return set(receiver.acked()) >= expected

            await eventually(all_acked, what="all events delivered")
            await eventually(
                lambda: _no_pending(app, merchant.id), what="pending_webhooks back to zero"
            )
            assert running.next_depth > 0  # the outbox depth was counted (every 15 s)
    assert _verify_all(receiver, endpoint["secret"]) >= 6
    assert _delivered_metric("succeeded") - succeeded_before >= 6
    assert metrics.WEBHOOK_LATENCY._sum.get() > latencies_before
    listed = (await merchant.get("/v1/events", {"delivery_success": "true"})).json()["data"]
    assert {e["id"] for e in listed} == expected
    assert all(e["pending_webhooks"] == 0 for e in listed)
    assert (await merchant.get("/v1/events", {"delivery_success": "false"})).json()["data"] == []
    log = (await merchant.get(f"/v1/webhook_endpoints/{endpoint['id']}/attempts")).json()
    first = log["data"][0]
    assert first["object"] == "webhook_attempt"
    assert first["succeeded"] is True
    assert first["status_code"] == 200
    assert first["response_snippet"] == '{"received": true}'
    assert first["latency_ms"] >= 0
    assert first["error"] is None
    # The exact signed bytes were sent: the body is the event as the API renders it.
    sent = next(r for r in receiver.requests if r.event_id == first["event"])
    api_event = (await merchant.get(f"/v1/events/{first['event']}")).json()
    assert json.loads(sent.body)["data"] == api_event["data"]


async def _no_pending(app: Any, merchant_id: str) -> bool:
    async with app.state.gateway.sessions() as session:
        rows = (
            await session.execute(
                select(Event.pending_webhooks, Event.fanout_pending).where(
                    Event.merchant_id == merchant_id
                )
            )
        ).all()
    return all(p == 0 and not f for p, f in rows)


async def test_only_subscribed_types_are_delivered(app: Any, merchant: Merchant) -> None:
    with Receiver() as receiver:
        endpoint = await create_endpoint(merchant, receiver.url, "payment_intent.canceled")
        await _make_events(merchant, 2)
        async with dispatcher(app):

            async def two() -> bool:
                return len(receiver.acked()) == 2

            await eventually(two, what="the two canceled events")
        rows = await deliveries(app, endpoint["id"])
    types = {json.loads(r.body)["type"] for r in receiver.requests}
    assert types == {"payment_intent.canceled"}
    assert len(rows) == 2


async def test_rotation_overlap_signs_with_both_secrets(app: Any, merchant: Merchant) -> None:
    with Receiver() as receiver:
        endpoint = await create_endpoint(merchant, receiver.url)
        rotated = await merchant.post(
            f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret", {"expires_in": 3600}
        )
        new_secret = rotated.json()["secret"]
        await _make_events(merchant, 1)
        async with dispatcher(app):

            async def two() -> bool:
                return len(receiver.acked()) == 2

            await eventually(two, what="deliveries during the overlap")
    for request in receiver.requests:
        assert request.signature.count("v1=") == 2
    assert _verify_all(receiver, endpoint["secret"], new_secret) == 4
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            receiver.requests[0].body.decode(), receiver.requests[0].signature, "whsec_wrong"
        )


FAULTS = ["down", "500", "slow", "reset", "redirect"]


@pytest.mark.parametrize("fault", FAULTS)
async def test_fault_then_recovery_loses_nothing(
    app: Any, merchant: Merchant, fault: str, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = Receiver(port=free_port())
    if fault != "down":
        receiver.state.mode = fault
        receiver.start()
    try:
        endpoint = await create_endpoint(merchant, receiver.url)
        await _make_events(merchant, 4)
        expected = set(await event_ids(app, merchant.id))
        async with dispatcher(app):

            async def all_failed_once() -> bool:
                rows = await deliveries(app, endpoint["id"])
                return len(rows) == len(expected) and all(r.attempts >= 1 for r in rows)

            await eventually(all_failed_once, what=f"a failed attempt per delivery ({fault})")
            log = await attempts(app, endpoint["id"])
            assert log
            assert not any(a.succeeded for a in log)
            if fault == "down":
                receiver.start()
            else:
                receiver.state.mode = "ok"

            async def all_delivered() -> bool:
                rows = await deliveries(app, endpoint["id"])
                return all(r.status == "succeeded" for r in rows)

            await eventually(all_delivered, within=90, what=f"recovery after {fault}")
        log = await attempts(app, endpoint["id"])
    finally:
        receiver.stop()
    failures = [a for a in log if not a.succeeded]
    if fault == "500":
        assert {a.status_code for a in failures} == {500}
    elif fault == "redirect":
        assert {a.status_code for a in failures} == {302}
        assert not any(r.path == "/redirected" for r in receiver.requests)
    elif fault == "slow":
        assert {a.error for a in failures} == {"timeout"}
    else:
        assert all(a.status_code is None and a.error for a in failures)
    acked = receiver.acked()
    lost = expected - set(acked)
    # Duplicates: events the receiver answered 2xx more than once (e.g. a slow 200 after the
    # sender's timeout, then the retry); rejected attempts (500, 302, resets) are not counted.
    duplicates = sum(n - 1 for n in acked.values())
    with capsys.disabled():
        print(
            f"\n[webhooks fault={fault}] events={len(expected)} delivered={len(set(acked))} "
            f"lost={len(lost)} duplicates={duplicates} failed_attempts={len(failures)}"
        )
    assert not lost
    assert await _no_pending(app, merchant.id)


async def test_slow_endpoint_does_not_starve_others(
    app: Any, merchant: Merchant, settings: Settings
) -> None:
    limited = settings.model_copy(
        update={"webhook_concurrency": 12, "webhook_endpoint_concurrency": 3}
    )
    with Receiver() as slow, Receiver() as fast:
        slow.state.mode, slow.state.slow_seconds = "slow", 0.5
        await create_endpoint(merchant, slow.url)
        await create_endpoint(merchant, fast.url)
        await _make_events(merchant, 10)
        expected = set(await event_ids(app, merchant.id))
        async with dispatcher(app, limited):

            async def fast_done() -> bool:
                return set(fast.acked()) >= expected

            await eventually(fast_done, what="the fast endpoint's deliveries")
            slow_when_fast_done = len(slow.acked())

            async def slow_done() -> bool:
                return set(slow.acked()) >= expected

            await eventually(slow_done, what="the slow endpoint's deliveries")
    assert slow_when_fast_done < len(expected)
    assert slow.state.max_in_flight <= 3


async def test_gives_up_disables_and_resend(
    app: Any, merchant: Merchant, settings: Settings
) -> None:
    impatient = settings.model_copy(
        update={"webhook_test_retry_window_seconds": 0.5, "webhook_disable_after_seconds": 1}
    )
    with Receiver() as receiver:
        receiver.state.mode = "500"
        endpoint = await create_endpoint(merchant, receiver.url, "payment_intent.created")
        watcher = await create_endpoint(merchant, receiver.url + "?watch", "*")
        await merchant.create_intent()
        (event_id,) = await event_ids(app, merchant.id)
        failed_before, gave_up_before = _delivered_metric("failed"), _delivered_metric("gave_up")
        async with dispatcher(app, impatient):

            async def given_up() -> bool:
                rows = await deliveries(app, endpoint["id"])
                return [r.status for r in rows] == ["failed"]

            await eventually(given_up, what="the delivery to give up")
            assert _delivered_metric("failed") > failed_before
            assert _delivered_metric("gave_up") > gave_up_before
            event = (await merchant.get(f"/v1/events/{event_id}")).json()
            assert event["pending_webhooks"] >= 1
            failing = (await merchant.get("/v1/events", {"delivery_success": "false"})).json()
            assert event_id in [e["id"] for e in failing["data"]]

            # Keep failing past disable_after: the endpoint is disabled, the merchant told.
            async def disabled() -> bool:
                await merchant.create_intent()  # new deliveries keep failing
                await asyncio.sleep(0.2)
                body = (await merchant.get(f"/v1/webhook_endpoints/{endpoint['id']}")).json()
                return bool(body["status"] == "disabled")

            await eventually(disabled, what="the endpoint to be disabled")
            notices = (
                await merchant.get("/v1/events", {"type": "webhook_endpoint.disabled"})
            ).json()["data"]
            assert {n["data"]["object"]["id"] for n in notices} >= {endpoint["id"]}
            await merchant.post(f"/v1/webhook_endpoints/{watcher['id']}", {"disabled": "true"})
            # Manual resend once the receiver is fixed and the endpoint enabled again.
            receiver.state.mode = "ok"
            refused = await merchant.post(
                f"/v1/events/{event_id}/retry", {"webhook_endpoint": endpoint["id"]}
            )
            assert refused.status_code == 400
            await merchant.post(f"/v1/webhook_endpoints/{endpoint['id']}", {"disabled": "false"})
            before = (await merchant.get(f"/v1/events/{event_id}")).json()["pending_webhooks"]
            resent = await merchant.post(
                f"/v1/events/{event_id}/retry", {"webhook_endpoint": endpoint["id"]}
            )
            assert resent.status_code == 200, resent.text
            assert resent.json()["id"] == event_id

            async def delivered() -> bool:
                rows = await deliveries(app, endpoint["id"])
                row = next(r for r in rows if r.event_id == event_id)
                return event_id in receiver.acked() and row.status == "succeeded"

            await eventually(delivered, what="the resent event")
        # The watcher's delivery gave up (still pending, as in Stripe); this one is done.
        after = (await merchant.get(f"/v1/events/{event_id}")).json()["pending_webhooks"]
        assert after == before - 1


async def test_test_event_goes_to_one_endpoint(app: Any, merchant: Merchant) -> None:
    with Receiver() as target, Receiver() as other:
        endpoint = await create_endpoint(merchant, target.url)
        await create_endpoint(merchant, other.url)
        response = await merchant.post(
            f"/v1/webhook_endpoints/{endpoint['id']}/test", {"type": "payment_intent.succeeded"}
        )
        assert response.status_code == 200, response.text
        event = response.json()
        assert event["type"] == "payment_intent.succeeded"
        assert event["pending_webhooks"] == 1
        bad = await merchant.post(
            f"/v1/webhook_endpoints/{endpoint['id']}/test", {"type": "refund.created"}
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["param"] == "type"
        async with dispatcher(app):

            async def arrived() -> bool:
                return event["id"] in target.acked()

            await eventually(arrived, what="the test event")
        assert other.requests == []
    received = stripe.Webhook.construct_event(
        target.requests[0].body.decode(), target.requests[0].signature, endpoint["secret"]
    )
    assert received.data.object.metadata["sbtc_gateway_test_event"] == "true"


async def test_private_address_refused_at_delivery_time(
    app: Any, merchant: Merchant, settings: Settings
) -> None:
    """A URL accepted earlier that now resolves to a private address (DNS rebinding)."""
    live_gateway = settings.model_copy(update={"mode": Mode.LIVE})
    with Receiver() as receiver:
        endpoint = await create_endpoint(merchant, receiver.url)
        await merchant.create_intent()
        async with dispatcher(app, live_gateway):

            async def attempted() -> bool:
                return bool(await attempts(app, endpoint["id"]))

            await eventually(attempted, what="a refused attempt")
        log = await attempts(app, endpoint["id"])
        assert receiver.requests == []
        assert log[0].error is not None
        assert log[0].error.startswith("blocked:")
        # Stop it from being retried by later tests' dispatchers.
        await merchant.client.delete(
            f"/v1/webhook_endpoints/{endpoint['id']}", headers=merchant.headers()
        )


async def test_undecryptable_secret_does_not_stall_others(app: Any, merchant: Merchant) -> None:
    from sbtc_gateway.webhooks.models import WebhookEndpoint

    with Receiver() as broken, Receiver() as healthy:
        lost_key = await create_endpoint(merchant, broken.url)
        fine = await create_endpoint(merchant, healthy.url)
        async with app.state.gateway.sessions.begin() as session:
            row = await session.get(WebhookEndpoint, lost_key["id"])
            assert row is not None
            row.secret_enc = "gone:" + row.secret_enc.partition(":")[2]
        await merchant.create_intent()
        async with dispatcher(app):

            async def delivered() -> bool:
                return len(healthy.acked()) == 1

            await eventually(delivered, what="the healthy endpoint's delivery")
        assert broken.requests == []
        (stuck,) = await deliveries(app, lost_key["id"])
        assert stuck.status == "pending"
        assert stuck.attempts == 0
        await merchant.client.delete(
            f"/v1/webhook_endpoints/{lost_key['id']}", headers=merchant.headers()
        )
    assert fine["id"]


async def test_resend_before_fan_out_counts_once(app: Any, merchant: Merchant) -> None:
    with Receiver() as receiver:
        endpoint = await create_endpoint(merchant, receiver.url)
        await merchant.create_intent()
        (event_id,) = await event_ids(app, merchant.id)
        resent = await merchant.post(
            f"/v1/events/{event_id}/retry", {"webhook_endpoint": endpoint["id"]}
        )
        assert resent.status_code == 200, resent.text
        assert resent.json()["pending_webhooks"] == 1
        missing = await merchant.post(
            "/v1/events/evt_missing/retry", {"webhook_endpoint": endpoint["id"]}
        )
        assert missing.status_code == 404
        no_endpoint = await merchant.post(
            f"/v1/events/{event_id}/retry", {"webhook_endpoint": "we_missing"}
        )
        assert no_endpoint.status_code == 404
        async with dispatcher(app):
            await eventually(lambda: _no_pending(app, merchant.id), what="the delivery")
        assert receiver.acked() == {event_id: 1}
