"""`/metrics` (`api/metrics.py`): route templates, never raw paths, and every metric's type."""

from __future__ import annotations

import httpx

from tests.conftest import Merchant


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
