"""SQL of the watcher: cursor, seen blocks and the inbox. System tables, not merchant-scoped."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from sbtc_gateway.chainstate.models import ChainBlock, ChainCursor, ChainInboxEntry


async def get_cursor(session: AsyncSession, network: str) -> ChainCursor | None:
    return await session.get(ChainCursor, network)


async def set_cursor(session: AsyncSession, network: str, height: int, block_hash: str) -> None:
    cursor = await session.get(ChainCursor, network)
    if cursor is None:
        session.add(ChainCursor(network=network, height=height, block_hash=block_hash))
    else:
        cursor.height, cursor.block_hash = height, block_hash


async def remember_block(session: AsyncSession, network: str, height: int, block_hash: str) -> None:
    block = await session.get(ChainBlock, (network, height))
    if block is None:
        session.add(ChainBlock(network=network, height=height, block_hash=block_hash))
    else:
        block.block_hash = block_hash


async def recent_blocks(session: AsyncSession, network: str, limit: int) -> list[ChainBlock]:
    query = (
        select(ChainBlock)
        .where(ChainBlock.network == network)
        .order_by(ChainBlock.height.desc())
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def forget_blocks_above(session: AsyncSession, network: str, height: int) -> None:
    await session.execute(
        delete(ChainBlock).where(ChainBlock.network == network, ChainBlock.height > height)
    )


async def upsert_inbox(
    session: AsyncSession,
    *,
    network: str,
    txid: str,
    event_index: int,
    kind: str,
    source: str,
    block_height: int | None,
    block_hash: str | None,
    intent_id: str | None,
    payload: dict[str, Any],
) -> tuple[ChainInboxEntry, bool]:
    """The inbox entry for (network, txid, event_index), created if new (returns created?).

    An entry seen again in another block (a reorg re-mined it) takes the new block; its
    status stays for the caller to decide."""
    query = (
        select(ChainInboxEntry)
        .where(
            ChainInboxEntry.network == network,
            ChainInboxEntry.txid == txid,
            ChainInboxEntry.event_index == event_index,
        )
        .with_for_update()
    )
    entry = await session.scalar(query)
    if entry is not None:
        if entry.status == "orphaned" and block_hash is not None:
            entry.block_height, entry.block_hash = block_height, block_hash
        return entry, False
    entry = ChainInboxEntry(
        network=network,
        txid=txid,
        event_index=event_index,
        kind=kind,
        source=source,
        block_height=block_height,
        block_hash=block_hash,
        intent_id=intent_id,
        payload=payload,
        status="new",
    )
    session.add(entry)
    await session.flush()
    return entry, True


async def inbox_waiting(session: AsyncSession, network: str) -> list[ChainInboxEntry]:
    query = select(ChainInboxEntry).where(
        ChainInboxEntry.network == network, ChainInboxEntry.status == "waiting"
    )
    return list((await session.scalars(query)).all())


async def inbox_above(session: AsyncSession, network: str, height: int) -> list[ChainInboxEntry]:
    query = select(ChainInboxEntry).where(
        ChainInboxEntry.network == network, ChainInboxEntry.block_height > height
    )
    return list((await session.scalars(query)).all())


async def inbox_for(session: AsyncSession, network: str, intent_id: str) -> list[ChainInboxEntry]:
    query = select(ChainInboxEntry).where(
        ChainInboxEntry.network == network, ChainInboxEntry.intent_id == intent_id
    )
    return list((await session.scalars(query)).all())


def lock_key(network: str) -> int:
    """The advisory-lock key of one network's watcher (a stable signed 64-bit number)."""
    import hashlib

    digest = hashlib.sha256(f"sbtc-gateway:watcher:{network}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def try_advisory_lock(connection: AsyncConnection, network: str) -> bool:
    """PostgreSQL: take the session-level advisory lock of this network's watcher, without
    waiting. Other databases (SQLite: one process) always answer True."""
    if connection.dialect.name != "postgresql":
        return True
    got = await connection.scalar(
        text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(network)}
    )
    await connection.commit()
    return bool(got)


async def release_advisory_lock(connection: AsyncConnection, network: str) -> None:
    if connection.dialect.name != "postgresql":
        return
    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key(network)})
    await connection.commit()


async def still_connected(connection: AsyncConnection) -> None:
    await connection.execute(text("SELECT 1"))
    await connection.commit()


async def cursor_heights(session: AsyncSession, networks: set[str]) -> dict[str, int]:
    """How far the watcher has followed each network (for confirmations)."""
    if not networks:
        return {}
    rows = await session.execute(
        select(ChainCursor.network, ChainCursor.height).where(ChainCursor.network.in_(networks))
    )
    return {str(network): int(height) for network, height in rows.all()}
