"""JSON responses (orjson) and the Stripe error envelope."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from sbtc_gateway.core.errors import GatewayError


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def json_response(
    body: bytes | Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    content = body if isinstance(body, bytes) else dumps(body)
    return Response(content, status_code=status, media_type="application/json", headers=headers)


def error_body(exc: GatewayError, request_id: str | None = None) -> bytes:
    body = exc.to_dict()
    if request_id:
        body["error"]["request_log_url"] = None
    return dumps(body)


def error_response(exc: GatewayError) -> Response:
    headers = dict(exc.headers)
    # Tell the SDKs which failures are worth retrying with the same Idempotency-Key.
    if exc.status == 409 or exc.status >= 500:
        headers.setdefault("Stripe-Should-Retry", "true")
    elif exc.status < 500:
        headers.setdefault("Stripe-Should-Retry", "false")
    return json_response(error_body(exc), exc.status, headers)
