"""Idempotent POSTs, as Stripe's SDKs expect them, in a single transaction.

The request's work runs first; then, **in the same transaction**, its response is stored under
the key with `INSERT … ON CONFLICT DO NOTHING`. The change, its events and the stored response
commit together, in one commit and one key statement per request (nothing half-done survives a
crash). If the key was already stored, the transaction rolls back — whatever this run did is
undone — and the stored response is answered instead (`Idempotent-Replayed: true`).

A duplicate arriving while the first is still running blocks on the first one's uncommitted key
(or on a row the first holds):
- if the first commits within the engine's `lock_timeout` (`SBTC_DB_LOCK_TIMEOUT_MS`, set per
  connection so it costs no round trip), the duplicate rolls back and replays the first;
- if not, the lock wait times out and the duplicate gets 409 (the SDKs retry 409 with the key);
- if the first rolled back (a validation failure), the key is free and the duplicate stands.
SQLite runs one transaction at a time, so there a duplicate simply runs after and replays.

A request whose work fails looks for an earlier response under its key before answering (a
retried confirmation would otherwise report the state the first one left). Same key with
different parameters → 400 `idempotency_error`. Failures other than validation failures are
stored afterwards in a transaction of their own, and replayed like successes.

Stored responses hold secrets (a sign-up's keys, a rotated key, a webhook endpoint's `whsec_`),
so the body is stored sealed with the keyring's current key (`core/crypto.seal`, AES-256-GCM)
with the row's scope and key as associated data: a body copied to another row does not open, and
a replay opens it under whichever key id it names (so SBTC_ENCRYPTION_KEYS can rotate). Rows
written before responses were sealed hold plain JSON; they are still replayed, and are gone
once the retention period has passed.
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.crypto import Keyring, KeyringError, is_sealed
from sbtc_gateway.core.errors import GatewayError
from sbtc_gateway.core.text import text_problem
from sbtc_gateway.idempotency.models import IdempotencyKey

log = structlog.get_logger(__name__)

MAX_KEY_LENGTH = 255
LOCK_NOT_AVAILABLE = "55P03"


def is_lock_timeout(exc: BaseException) -> bool:
    """PostgreSQL gave up waiting for a lock (the engine's `lock_timeout`)."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == LOCK_NOT_AVAILABLE


@dataclass(frozen=True, slots=True)
class Request:
    scope: str
    key: str
    method: str
    path: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: bytes


def request_hash(method: str, path: str, params: dict[str, Any]) -> str:
    canonical = orjson.dumps([method, path, params], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def check_key(key: str) -> str:
    # Stored as text (events keep it too): NUL would be a PostgreSQL error, not a 400.
    if not key or len(key) > MAX_KEY_LENGTH or text_problem(key) is not None:
        raise codes.IDEMPOTENCY_KEY_INVALID(
            param="Idempotency-Key",
            message=f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters, without NUL.",
        )
    return key


def _associated_data(scope: str, key: str) -> bytes:
    """What a sealed body is bound to: its table and its row's (scope, key)."""
    return orjson.dumps(["idempotency_keys", scope, key])


def _row(req: Request, now: int, status: int, body: bytes, keyring: Keyring) -> dict[str, Any]:
    return {
        "scope": req.scope,
        "key": req.key,
        "request_hash": req.fingerprint,
        "method": req.method,
        "path": req.path,
        "created": now,
        "locked_at": now,
        "response_status": status,
        "response_body": keyring.seal(body, _associated_data(req.scope, req.key)),
    }


@functools.cache
def _insert_statement(dialect: str, columns: tuple[str, ...]) -> Any:
    """Built once per dialect and column set: every request binds its values to the same
    statement object, so SQLAlchemy neither rebuilds nor re-keys it (this runs on every
    idempotent write)."""
    insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert_(IdempotencyKey).values({c: bindparam(c) for c in columns})
    return stmt.on_conflict_do_nothing(index_elements=["scope", "key"]).returning(IdempotencyKey.id)


async def _insert(session: AsyncSession, values: dict[str, Any]) -> int | None:
    stmt = _insert_statement(session.get_bind().dialect.name, tuple(values))
    row_id: int | None = (await session.execute(stmt, values)).scalar()
    return row_id


def _in_progress() -> GatewayError:
    return codes.LOCK_TIMEOUT(
        message="There is currently another in-progress request using this Idempotency-Key "
        "(that probably means you submitted twice, and the other request is still "
        "going through). Please try again later."
    )


async def _existing(session: AsyncSession, req: Request) -> IdempotencyKey | None:
    found: IdempotencyKey | None = await session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.scope == req.scope, IdempotencyKey.key == req.key
        )
    )
    return found


def _replay_of(existing: IdempotencyKey, req: Request, keyring: Keyring) -> Replay:
    if existing.request_hash != req.fingerprint:
        raise codes.IDEMPOTENCY_KEY_IN_USE(key=req.key)
    if existing.response_status is None or existing.response_body is None:
        # a row claimed by an older gateway version that is still running its request
        raise codes.LOCK_TIMEOUT(
            message="The first request with this Idempotency-Key has not finished."
        )
    return Replay(existing.response_status, _opened(existing, existing.response_body, keyring))


def _opened(existing: IdempotencyKey, stored: bytes, keyring: Keyring) -> bytes:
    if not is_sealed(stored):  # stored in plain text before bodies were sealed
        return stored
    try:
        return keyring.unseal(stored, _associated_data(existing.scope, existing.key))
    except KeyringError as exc:
        # Its key id was removed from SBTC_ENCRYPTION_KEYS too early (or the row was altered):
        # the first request's answer is lost, and running it again could do it twice.
        log.error("stored idempotent response does not decrypt", row=existing.id, error=str(exc))
        raise codes.IDEMPOTENCY_RESPONSE_UNREADABLE() from None


async def record(
    session: AsyncSession,
    req: Request,
    status: int,
    body: bytes,
    *,
    keyring: Keyring,
    retention_seconds: int,
) -> Replay | None:
    """Store this request's response under its key (sealed), in the caller's transaction. None:
    stored. A `Replay`: the key holds an earlier request's response; the caller must roll back
    its transaction and answer that instead."""
    now = int(time.time())
    values = _row(req, now, status, body, keyring)
    try:
        if await _insert(session, values) is not None:
            return None
    except DBAPIError as exc:
        if is_lock_timeout(exc):
            raise _in_progress() from None
        raise
    existing = await _existing(session, req)
    if existing is None:  # pruned in between: let the client retry
        raise codes.LOCK_TIMEOUT(
            message="The Idempotency-Key was being released; retry the request."
        )
    if existing.created <= now - retention_seconds:  # expired: the key is free again
        await session.delete(existing)
        await session.flush()
        if await _insert(session, values) is None:
            raise codes.LOCK_TIMEOUT(
                message="The Idempotency-Key is being reused; retry the request."
            )
        return None
    return _replay_of(existing, req, keyring)


async def earlier(
    sessions: async_sessionmaker[AsyncSession],
    req: Request,
    *,
    keyring: Keyring,
    retention_seconds: int,
) -> Replay | None:
    """After this request's work failed: the response stored under its key by an earlier
    request (replayed instead of the failure), if there is one and it has not expired."""
    async with sessions() as session:
        existing = await _existing(session, req)
    if existing is None or existing.created <= int(time.time()) - retention_seconds:
        return None
    return _replay_of(existing, req, keyring)


async def store_failure(
    sessions: async_sessionmaker[AsyncSession],
    req: Request,
    status: int,
    body: bytes,
    *,
    keyring: Keyring,
) -> None:
    """After a rolled-back request: remember its failure (sealed) so a retry replays it."""
    values = _row(req, int(time.time()), status, body, keyring)
    async with sessions.begin() as session:
        await _insert(session, values)


async def prune(session: AsyncSession, retention_seconds: int) -> int:
    cutoff = int(time.time()) - retention_seconds
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
