"""The boundary of every write request: idempotency, one transaction, one response.

A handler gets a session inside an open transaction and returns `(status, object)`; it must not
commit. With an Idempotency-Key, the response is stored under the key in that same transaction,
or, if the key already holds one, the transaction rolls back and that one is answered (see
`idempotency.service`). Stored responses are sealed with the gateway's keyring (`gateway.keyring`,
SBTC_ENCRYPTION_KEYS), handed to the service with the retention like any other setting.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from starlette.responses import Response

from sbtc_gateway.api.context import HttpContext
from sbtc_gateway.api.responses import dumps, error_body, error_response, json_response
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.errors import ConflictError, GatewayError, IdempotencyError
from sbtc_gateway.core.origin import Origin
from sbtc_gateway.core.text import text_problem
from sbtc_gateway.idempotency import service as idempotency
from sbtc_gateway.observability.metrics import count_database_failure

log = structlog.get_logger(__name__)

Handler = Callable[[AsyncSession, Origin], Awaitable[tuple[int, Any]]]


# The events a write records keep its Stripe-Version in a String(64) column.
MAX_API_VERSION = 64
MAX_USER_AGENT = 512


def origin_of(request: Request) -> Origin:
    version = request.headers.get("stripe-version")
    if version is not None and (len(version) > MAX_API_VERSION or text_problem(version)):
        raise codes.PARAMETER_INVALID_STRING(
            param="Stripe-Version",
            message=f"Stripe-Version must be at most {MAX_API_VERSION} characters, without NUL.",
        )
    agent = request.headers.get("user-agent")
    if agent is not None and text_problem(agent):
        agent = None  # a header no text column can hold is not worth a 400
    state = request.scope.get("state", {})
    return Origin(
        request_id=state.get("request_id"),
        idempotency_key=request.headers.get("idempotency-key"),
        api_version=version,
        client_ip=state.get("client_ip"),
        user_agent=agent[:MAX_USER_AGENT] if agent else None,
    )


async def run_write(
    request: Request,
    gateway: HttpContext,
    *,
    scope: str,
    params: dict[str, Any],
    handler: Handler,
) -> Response:
    origin = origin_of(request)
    req: idempotency.Request | None = None
    if origin.idempotency_key is not None:
        req = idempotency.Request(
            scope=scope,
            key=idempotency.check_key(origin.idempotency_key),
            method=request.method,
            path=request.url.path,
            fingerprint=idempotency.request_hash(request.method, request.url.path, params),
        )
    retention = gateway.settings.idempotency_retention_seconds
    try:
        async with gateway.sessions.begin() as session:
            status, obj = await handler(session, origin)
            body = dumps(obj)
            if req is not None:
                replay = await idempotency.record(
                    session, req, status, body, keyring=gateway.keyring, retention_seconds=retention
                )
                if replay is not None:
                    raise _AlreadyDone(replay)  # rolls this run's work back
        await gateway.after_commit(session)
        return json_response(body, status)
    except _AlreadyDone as done:
        return _replayed(done.replay)
    except GatewayError as exc:
        if req is not None and not isinstance(exc, ConflictError | IdempotencyError):
            try:
                replay = await idempotency.earlier(
                    gateway.sessions, req, keyring=gateway.keyring, retention_seconds=retention
                )
            except GatewayError as mismatch:  # same key, other parameters; or still running
                return error_response(mismatch)
            # e.g. a retried confirm: the first one's answer, not "wrong state"
            if replay is not None:
                return _replayed(replay)
        replayable = not (
            exc.is_validation_failure or isinstance(exc, ConflictError | IdempotencyError)
        )
        if req is not None and replayable:
            await _store_quietly(gateway, req, exc)
        return error_response(exc)
    except Exception as exc:
        if idempotency.is_lock_timeout(exc) or isinstance(exc, StaleDataError):
            # Waited too long for a row another request holds, or the row changed under an
            # optimistic version check: nothing happened; a retry is safe.
            return error_response(codes.LOCK_TIMEOUT())
        count_database_failure(exc, "write")
        log.exception("unhandled error in write request", path=request.url.path)
        failure = codes.API_ERROR(
            message="An unexpected error occurred; the request can be retried safely."
        )
        if req is not None:
            await _store_quietly(gateway, req, failure)
        return error_response(failure)


class _AlreadyDone(Exception):
    """The key already holds a response: leave the transaction (rolling it back) and answer
    that response."""

    def __init__(self, replay: idempotency.Replay) -> None:
        super().__init__("idempotent replay")
        self.replay = replay


def _replayed(replay: idempotency.Replay) -> Response:
    return json_response(replay.body, replay.status, headers={"Idempotent-Replayed": "true"})


async def _store_quietly(gateway: HttpContext, req: idempotency.Request, exc: GatewayError) -> None:
    try:
        await idempotency.store_failure(
            gateway.sessions, req, exc.status, error_body(exc), keyring=gateway.keyring
        )
    except Exception:  # the database may be what failed; the key will be taken over later
        log.warning("could not store the idempotent failure", exc_info=True)
