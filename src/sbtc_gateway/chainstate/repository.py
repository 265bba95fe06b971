"""SQL of the watcher: cursor, seen blocks and the inbox. System tables, not merchant-scoped."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from sbtc_gateway.chainstate.models import ChainBlock, ChainCursor, ChainInboxEntry, ChainReset


async def get_cursor(session: AsyncSession, network: str) -> ChainCursor | None:
    return await session.get(ChainCursor, network)


async def set_cursor(
    session: AsyncSession,
    network: str,
    height: int,
    block_hash: str,
    *,
    genesis_hash: str | None = None,
) -> None:
    """Move the cursor (created if new); `genesis_hash`, when given, names its chain."""
    cursor = await session.get(ChainCursor, network)
    if cursor is None:
        cursor = ChainCursor(network=network, height=height, block_hash=block_hash)
        session.add(cursor)
    else:
        cursor.height, cursor.block_hash = height, block_hash
    if genesis_hash is not None:
        cursor.genesis_hash = genesis_hash


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


async def lowest_block(session: AsyncSession, network: str) -> ChainBlock | None:
    """The first block the watcher processed on this network (where its cursor started)."""
    query = (
        select(ChainBlock)
        .where(ChainBlock.network == network)
        .order_by(ChainBlock.height.asc())
        .limit(1)
    )
    return await session.scalar(query)


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


async def archive_chain(session: AsyncSession, network: str) -> str:
    """Move this network's seen blocks and inbox rows under an archive name of their own
    (`devnet~1`, `devnet~2`, …), where no query of the network sees them. Returns the name."""
    done = await session.scalar(
        select(func.count()).select_from(ChainReset).where(ChainReset.network == network)
    )
    archive = f"{network}~{int(done or 0) + 1}"
    for model in (ChainBlock, ChainInboxEntry):
        await session.execute(update(model).where(model.network == network).values(network=archive))
    return archive


def add_reset(session: AsyncSession, reset: ChainReset) -> None:
    session.add(reset)


async def stranded_txids(session: AsyncSession, network: str) -> set[str]:
    """Transactions of chains this network's cursor has left: never settled by the new one."""
    rows = await session.scalars(select(ChainReset.stranded).where(ChainReset.network == network))
    return {str(txid) for stranded in rows for txid in stranded.get("txids", ())}


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


async def left_chains(
    session: AsyncSession, networks: set[str]
) -> dict[str, list[tuple[int, int]]]:
    """Per network, the chains its cursor has left (ADR 0202), oldest first: when it left
    each, and the height it had followed it to (what an old chain's confirmations stop at)."""
    if not networks:
        return {}
    rows = await session.execute(
        select(ChainReset.network, ChainReset.created, ChainReset.old_height)
        .where(ChainReset.network.in_(networks))
        .order_by(ChainReset.created, ChainReset.id)
    )
    left: dict[str, list[tuple[int, int]]] = {}
    for network, created, height in rows.all():
        left.setdefault(str(network), []).append((int(created), int(height)))
    return left
