"""OpenTelemetry traces, only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (and the `otel` extra is
installed: `pip install 'sbtc-gateway[otel]'`).

Spans come from the FastAPI instrumentation (outermost middleware), exported over OTLP/HTTP;
the standard OTEL_* variables configure the rest (OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER=
parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG=0.1 for the seed's 10 % sampling, …).
Each span carries the request id (`sbtc.request_id`) and each log line of a traced request the
trace id, so logs and traces find each other. Query strings are removed from span attributes:
a publishable-key retrieve carries the intent's client secret there.
"""

from __future__ import annotations

import os
from typing import Any

import structlog

try:
    from opentelemetry import trace as _trace
except ImportError:  # opentelemetry-api comes with FastAPI, but do not depend on it
    _trace = None  # type: ignore[assignment]

log = structlog.get_logger(__name__)

QUERY_ATTRIBUTES = ("http.target", "http.url", "url.full", "url.query")
EXCLUDED_URLS = "/health,/ready,/metrics"


def _strip_query(span: Any, scope: dict[str, Any]) -> None:
    attributes = getattr(span, "attributes", None) or {}
    for name in QUERY_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str):
            span.set_attribute(name, "" if name == "url.query" else value.split("?", 1)[0])


def setup_tracing(app: Any, *, exporter: Any = None) -> Any | None:
    """Instrument `app`; returns the tracer provider (shut it down at exit) or None."""
    if exporter is None and not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return None
    try:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError:
        log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but the otel extra is not installed")
        return None
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": os.environ.get("OTEL_SERVICE_NAME", "sbtc-gateway")}
        )
    )
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=provider,
        excluded_urls=EXCLUDED_URLS,
        server_request_hook=_strip_query,
        exclude_spans=["receive", "send"],
    )
    log.info("tracing enabled", exporter=type(exporter).__name__ if exporter else "otlp-http")
    return provider


def request_context(request_id: str) -> dict[str, str]:
    """Tag the active span with the request id; the trace id to bind in the log context.
    Without tracing there is no valid span and this costs a context-variable lookup."""
    if _trace is None:
        return {}
    span = _trace.get_current_span()
    context = span.get_span_context()
    if not context.is_valid:
        return {}
    span.set_attribute("sbtc.request_id", request_id)
    return {"trace_id": format(context.trace_id, "032x")}
