"""Idempotent POSTs, as Stripe's SDKs expect them.

1. `begin` inserts (scope, key) in its own short transaction. A second request with the same key
   then finds the row: different parameters → 400 `idempotency_error`; first one still running →
   409 (the SDKs retry 409); finished → the stored status and body are replayed.
2. The handler runs in the main transaction, and `finish` stores the response **in that same
   transaction**, so "the change happened" and "its response is stored" commit together.
3. Validation failures delete the row (nothing is stored); other failures store their response.
A row whose request died mid-flight (its lock older than `STALE_LOCK_SECONDS`, never finished) is
taken over: nothing of it committed, since the response commits with the change.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.core.errors import ConflictError, IdempotencyError, ParameterError
from sbtc_gateway.idempotency.models import IdempotencyKey

STALE_LOCK_SECONDS = 60
MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Claimed:
    row_id: int


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: bytes


def request_hash(method: str, path: str, params: dict[str, Any]) -> str:
    canonical = orjson.dumps([method, path, params], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ParameterError(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
            param="Idempotency-Key",
            code="idempotency_key_invalid",
        )
    return key


async def begin(
    sessions: async_sessionmaker[AsyncSession],
    *,
    scope: str,
    key: str,
    method: str,
    path: str,
    fingerprint: str,
    retention_seconds: int,
) -> Claimed | Replay:
    now = int(time.time())
    fields = {
        "scope": scope,
        "key": key,
        "request_hash": fingerprint,
        "method": method,
        "path": path,
        "created": now,
        "locked_at": now,
    }
    try:
        async with sessions.begin() as session:
            row = IdempotencyKey(**fields)
            session.add(row)
            await session.flush()
            return Claimed(row.id)
    except IntegrityError:
        pass
    async with sessions.begin() as session:
        existing = await session.scalar(
            select(IdempotencyKey)
            .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
            .with_for_update()
        )
        if existing is None:  # pruned between the two statements: caller may retry
            raise ConflictError("The idempotency key was being released; retry the request.")
        if existing.created <= now - retention_seconds:
            await session.delete(existing)
            await session.flush()
            row = IdempotencyKey(**fields)
            session.add(row)
            await session.flush()
            return Claimed(row.id)
        if existing.request_hash != fingerprint:
            raise IdempotencyError(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
        if existing.response_status is not None and existing.response_body is not None:
            return Replay(existing.response_status, existing.response_body)
        if existing.locked_at > now - STALE_LOCK_SECONDS:
            raise ConflictError(
                "There is currently another in-progress request using this Idempotency-Key "
                "(that probably means you submitted twice, and the other request is still going "
                "through). Please try again later."
            )
        existing.locked_at = now
        return Claimed(existing.id)


async def finish(session: AsyncSession, claimed: Claimed, status: int, body: bytes) -> None:
    """Store the outcome inside the caller's transaction."""
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claimed.row_id)
        .values(response_status=status, response_body=body)
    )


async def release(sessions: async_sessionmaker[AsyncSession], claimed: Claimed) -> None:
    async with sessions.begin() as session:
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == claimed.row_id))


async def store_failure(
    sessions: async_sessionmaker[AsyncSession], claimed: Claimed, status: int, body: bytes
) -> None:
    async with sessions.begin() as session:
        await finish(session, claimed, status, body)


async def prune(session: AsyncSession, retention_seconds: int) -> int:
    cutoff = int(time.time()) - retention_seconds
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
