"""OpenTelemetry: spans per request with the route template and the request id, no query
strings (client secrets) in span attributes, and nothing at all unless configured."""

from __future__ import annotations

from typing import Any

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sbtc_gateway.config import Settings
from sbtc_gateway.runtime.app import create_app
from tests.conftest import Merchant, sign_up


async def test_spans_carry_route_and_request_id(sqlite_settings: Settings) -> None:
    exporter = InMemorySpanExporter()
    app = create_app(sqlite_settings, span_exporter=exporter)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
            m: Merchant = await sign_up(client)
            pi = await m.create_intent()
            exporter.clear()
            response = await m.get(
                f"/v1/payment_intents/{pi['id']}", {"client_secret": pi["client_secret"]}, key=m.pk
            )
            assert response.status_code == 200
            await client.get("/health")
    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.kind.name == "SERVER"]
    assert len(server) == 1  # /health is not traced
    span = server[0]
    attributes: dict[str, Any] = dict(span.attributes or {})
    assert attributes["http.route"] == "/v1/payment_intents/{intent_id}"
    assert attributes["sbtc.request_id"] == response.headers["Request-Id"]
    for value in attributes.values():
        assert pi["client_secret"] not in str(value)


def test_no_tracing_without_configuration(sqlite_settings: Settings, monkeypatch: Any) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    app = create_app(sqlite_settings)
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
