"""Which chain the cursor is on (ADR 0202): a new chain is not a reorg.

A chain is named by its block at `GENESIS_HEIGHT`, which no reorg of a live chain reaches: the
cursor keeps that block's hash. When the chain the Stacks API serves has another block there
(a wiped or another devnet, a reset testnet, an API pointed at another network), every block
the watcher remembers differs too, and the reorg check would roll back every payment it ever
credited. Instead the watcher stops following (`check` says `changed`) and nothing recorded
changes, until an operator runs `sbtc-gateway chain follow-new`, which starts a new cursor at
the new chain's tip (`follow_new`). Takes a session, never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.chain import BlockInfo, ChainSource, NotFoundError
from sbtc_gateway.chainstate import repository
from sbtc_gateway.chainstate.models import ChainReset
from sbtc_gateway.watcher import reorgs
from sbtc_gateway.watcher.target import WatchTarget

GENESIS_HEIGHT = 1

Status = Literal["new_cursor", "same", "changed"]


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The chain the API serves, compared with the one the cursor is on."""

    network: str
    status: Status
    height: int  # the height compared: GENESIS_HEIGHT, or the lowest remembered block
    remembered: str | None  # the cursor's hash at `height`
    current: str | None  # the chain's hash at `height` (None: the chain has no such block)
    cursor_height: int | None = None

    @property
    def same(self) -> bool:
        return self.status != "changed"

    def message(self) -> str:
        """What an operator reads, in plain words."""
        if self.status == "new_cursor":
            return f"The gateway has not followed a {self.network} chain yet: it starts at its tip."
        if self.status == "same":
            return (
                f"The {self.network} chain is the one the gateway followed"
                f" (up to block {self.cursor_height})."
            )
        theirs = self.current or "missing"
        return (
            f"The {self.network} chain the Stacks API serves is not the one this gateway followed:"
            f" its block {self.height} is {theirs}, the gateway's was {self.remembered}"
            f" (followed up to block {self.cursor_height}). A new chain (a wiped or another"
            " devnet, a reset testnet) is not a reorg: the watcher does not follow it, and"
            " nothing recorded so far changes: no payment goes back, no event is sent. To follow"
            f" the new chain from its tip, run `sbtc-gateway chain follow-new --network"
            f" {self.network}`; to keep the old one, point the gateway back at the chain it"
            " followed."
        )


async def _hash_at(client: ChainSource, height: int) -> str | None:
    try:
        return (await client.get_block(height)).hash
    except NotFoundError:
        return None


async def genesis_hash(client: ChainSource) -> str | None:
    """The chain's name: its block at GENESIS_HEIGHT (None while it has none)."""
    return await _hash_at(client, GENESIS_HEIGHT)


async def check(session: AsyncSession, network: str, client: ChainSource) -> ChainCheck:
    """Compare the chain with the cursor's (reads the API; changes nothing). A cursor older
    than the genesis column is compared at its lowest remembered block instead."""
    cursor = await repository.get_cursor(session, network)
    if cursor is None:
        return ChainCheck(network, "new_cursor", GENESIS_HEIGHT, None, None)
    if cursor.genesis_hash is not None:
        height, remembered = GENESIS_HEIGHT, cursor.genesis_hash
    else:
        lowest = await repository.lowest_block(session, network)
        height, remembered = (
            (lowest.height, lowest.block_hash) if lowest else (cursor.height, cursor.block_hash)
        )
    current = await _hash_at(client, height)
    status: Status = "same" if current == remembered else "changed"
    return ChainCheck(network, status, height, remembered, current, cursor.height)


async def remember_genesis(session: AsyncSession, network: str, genesis: str) -> None:
    """Name the cursor's chain (a cursor from before the column, found on the same chain)."""
    cursor = await repository.get_cursor(session, network)
    if cursor is not None and cursor.genesis_hash is None:
        cursor.genesis_hash = genesis


@dataclass(frozen=True, slots=True)
class Followed:
    """What `follow_new` did."""

    network: str
    archive: str
    old_height: int
    new_height: int
    stranded: dict[str, list[str]]


async def follow_new(
    session: AsyncSession, target: WatchTarget, tip: BlockInfo, genesis: str | None
) -> Followed | None:
    """Start following the chain whose tip is `tip` (read before the transaction): the old
    chain's seen blocks and inbox go to an archive name, what still waited on it is listed as
    stranded (never settled by the new chain), a `chain_resets` row records it all, and the
    cursor starts at the new tip. Payments, refunds, charges, the ledger and events are not
    touched. None when there is no cursor (nothing to switch from)."""
    network = target.network.name
    cursor = await repository.get_cursor(session, network)
    if cursor is None:
        return None
    limbo = await reorgs.in_limbo(session, target)
    waiting = await repository.inbox_waiting(session, network)
    stranded = {
        "txids": sorted({item.txid for item in limbo} | {entry.txid for entry in waiting}),
        "charges": sorted(i.object_id for i in limbo if not i.object_id.startswith("re_")),
        "refunds": sorted(i.object_id for i in limbo if i.object_id.startswith("re_")),
        "waiting": sorted({e.intent_id for e in waiting if e.intent_id is not None}),
    }
    archive = await repository.archive_chain(session, network)
    repository.add_reset(
        session,
        ChainReset(
            network=network,
            archive=archive,
            old_genesis_hash=cursor.genesis_hash,
            old_height=cursor.height,
            old_block_hash=cursor.block_hash,
            new_genesis_hash=genesis,
            new_height=tip.height,
            new_block_hash=tip.hash,
            stranded=stranded,
        ),
    )
    old_height = cursor.height
    cursor.genesis_hash = genesis
    await repository.set_cursor(session, network, tip.height, tip.hash)
    await repository.remember_block(session, network, tip.height, tip.hash)
    return Followed(network, archive, old_height, tip.height, stranded)
