"""Async engine and session factories.

SQLite (the embedded default) gets one pooled connection: SQLite has a single writer anyway, and
funnelling every transaction through one connection removes `database is locked` races while
keeping each transaction atomic. PostgreSQL gets a real pool.

Statement parameters are hidden (`hide_parameters`): they carry key digests, lookup prefixes,
client secrets and bodies, and a database error's message would otherwise print them, in an
unhandled error's traceback or in the engine's log.

Behind PgBouncer in transaction pooling mode (`pgbouncer=True`, SBTC_DB_PGBOUNCER), one client
connection meets a different server connection in each transaction, so nothing may outlive a
transaction on the server: asyncpg's statement cache and SQLAlchemy's prepared-statement cache
are off, every prepared statement gets a name of its own (asyncpg's per-connection counter
would collide on a shared server connection: "prepared statement … already exists"), and no
startup parameter is sent (PgBouncer refuses unknown ones; `lock_timeout` is set by PgBouncer's
`connect_query` on each server connection, deploy/pgbouncer/pgbouncer.ini).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def _statement_name() -> str:
    return f"__sbtc_{uuid.uuid4().hex}__"


def pgbouncer_connect_args() -> dict[str, Any]:
    """asyncpg's arguments for PgBouncer's transaction pooling (see the module docstring)."""
    return {
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _statement_name,
    }


def make_engine(
    url: str,
    *,
    pool_size: int = 20,
    lock_timeout_ms: int | None = None,
    pgbouncer: bool = False,
) -> AsyncEngine:
    """`lock_timeout_ms` (PostgreSQL) bounds every lock wait of every transaction: a request that
    would wait longer for a row or an idempotency key gets 409 and can be retried."""
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if is_sqlite(url):
        kwargs.update(pool_size=1, max_overflow=0, pool_timeout=60)
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size // 2, pool_pre_ping=True)
        if pgbouncer:
            kwargs["connect_args"] = pgbouncer_connect_args()
        elif lock_timeout_ms is not None:
            kwargs["connect_args"] = {"server_settings": {"lock_timeout": f"{lock_timeout_ms}ms"}}
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.close()

    return engine


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class ReadSession(AsyncSession):
    """A session on a read-only connection (a replica, or the primary opened read-only): a
    type of its own, so code that must only read says so and cannot be handed a writer."""


def make_read_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    """An engine whose every transaction is read-only: PostgreSQL's
    `default_transaction_read_only`, SQLite's `query_only` (its own connection, which WAL
    lets read beside the writer)."""
    kwargs: dict[str, Any] = {"hide_parameters": True}
    if is_sqlite(url):
        kwargs.update(pool_size=1, max_overflow=0, pool_timeout=60)
    else:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=pool_size // 2,
            pool_pre_ping=True,
            connect_args={"server_settings": {"default_transaction_read_only": "on"}},
        )
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):

        @event.listens_for(engine.sync_engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()

    return engine


def make_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[ReadSession]:
    return async_sessionmaker(engine, class_=ReadSession, expire_on_commit=False, autoflush=False)
