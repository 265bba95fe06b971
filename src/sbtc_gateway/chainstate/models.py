"""Watcher tables: the durable cursor, the blocks it has seen (for reorgs), the event inbox, and
the record of each switch to a new chain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sbtc_gateway.db.base import Base, now


class ChainCursor(Base):
    """How far the watcher has processed one network's chain (the last block handled)."""

    __tablename__ = "chain_cursors"

    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    height: Mapped[int]
    block_hash: Mapped[str] = mapped_column(String(66))
    # the chain's block at `watcher.identity.GENESIS_HEIGHT`: which chain the cursor is on
    # (None for a cursor older than the column, until the watcher records it)
    genesis_hash: Mapped[str | None] = mapped_column(String(66), default=None)
    updated: Mapped[int] = mapped_column(default=now, onupdate=now)


class ChainBlock(Base):
    """A block the watcher processed, by height: a different hash at that height later is a
    reorg."""

    __tablename__ = "chain_blocks"

    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    height: Mapped[int] = mapped_column(primary_key=True)
    block_hash: Mapped[str] = mapped_column(String(66))
    created: Mapped[int] = mapped_column(default=now)


class ChainInboxEntry(Base):
    """One chain event the watcher received, keyed by (network, txid, event index).

    `event_index` is -1 for a transaction-level fact (a mempool sighting, an abort). `status`:
    `applied` (it moved an intent), `ignored` (nothing to do), `mismatch` (did not match the
    intent: recorded and reported, never credited), `orphaned` (its block was rolled back).
    """

    __tablename__ = "chain_inbox"
    __table_args__ = (
        UniqueConstraint("network", "txid", "event_index", name="uq_chain_inbox_event"),
        Index("ix_chain_inbox_intent", "intent_id"),
        Index("ix_chain_inbox_block", "network", "block_height"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    network: Mapped[str] = mapped_column(String(16))
    txid: Mapped[str] = mapped_column(String(66))
    event_index: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    block_height: Mapped[int | None] = mapped_column(default=None)
    block_hash: Mapped[str | None] = mapped_column(String(66), default=None)
    intent_id: Mapped[str | None] = mapped_column(String(36), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    # what the entry was applied to (a charge or refund id); `note` is for people
    object_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created: Mapped[int] = mapped_column(default=now)
    updated: Mapped[int] = mapped_column(default=now, onupdate=now)


class ChainReset(Base):
    """The operator let the watcher follow a new chain (`sbtc-gateway chain follow-new`): what
    the cursor was on, what it went to, and where the old chain's rows went. No event is sent:
    nothing recorded of the old chain changes. The old chain's inbox rows and seen blocks keep
    their contents under the network name `archive` (e.g. `devnet~1`), so no query of the
    network sees them; `stranded` lists the old chain's transactions that were still waiting
    (rolled back, or waiting for confirmations), which are never settled by the new chain."""

    __tablename__ = "chain_resets"
    __table_args__ = (Index("ix_chain_resets_network", "network"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    network: Mapped[str] = mapped_column(String(16))
    archive: Mapped[str] = mapped_column(String(16))
    old_genesis_hash: Mapped[str | None] = mapped_column(String(66))
    old_height: Mapped[int]
    old_block_hash: Mapped[str] = mapped_column(String(66))
    new_genesis_hash: Mapped[str | None] = mapped_column(String(66))
    new_height: Mapped[int]
    new_block_hash: Mapped[str] = mapped_column(String(66))
    # {"txids": [...], "charges": [...], "refunds": [...], "waiting": [...]}
    stranded: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created: Mapped[int] = mapped_column(default=now)
