"""The watcher loop: poll the Stacks API block by block from a durable cursor.

Each round: (1) the chain tip; (2) a reorg check — the newest block we processed must still be
at its height, else we walk down to the fork and roll back what was above it, unless the chain
is not the cursor's at all (`identity.py`, ADR 0202: a new chain is not a reorg; the watcher then
stops and changes nothing until an operator says to follow it); (3) every block
after the cursor, one transaction per block (inbox + intent changes + the cursor move commit
together, so a crash repeats at most one block, which the inbox makes harmless); (4) payments
waiting for more confirmations; (5) the mempool (`processing`); (6) every few rounds a
reconciliation pass over pending intents. An API outage only skips rounds: nothing is marked
failed for lack of an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from sbtc_gateway.chain import (
    ChainSource,
    NotFoundError,
    StacksApiError,
    StringAscii,
    TransactionInfo,
    TxStatus,
)
from sbtc_gateway.chainstate import repository
from sbtc_gateway.charges import repository as charges_repository
from sbtc_gateway.charges import service as charges
from sbtc_gateway.observability import metrics
from sbtc_gateway.payments import lifecycle
from sbtc_gateway.payments import repository as payment_repository
from sbtc_gateway.payments.state import Status
from sbtc_gateway.watcher import decode, identity, reorgs
from sbtc_gateway.watcher import service as watch
from sbtc_gateway.watcher.target import WatchTarget

log = structlog.get_logger(__name__)

AfterCommit = Callable[[AsyncSession], Awaitable[None]]
# While the chain is not the cursor's, the plain-words error is logged again every this many rounds.
REMIND_EVERY = 150


class ChainChanged(Exception):
    """The Stacks API serves another chain than the one the cursor is on."""

    def __init__(self, check: identity.ChainCheck) -> None:
        super().__init__(check.message())
        self.check = check


async def _nothing(session: AsyncSession) -> None:
    return None


@dataclass
class RoundResult:
    tip: int | None = None
    blocks: int = 0
    entries: int = 0
    rolled_back: int = 0
    reversed: int = 0
    promoted: int = 0
    reconciled: int = 0
    error: str | None = None


@dataclass
class Watcher:
    sessions: async_sessionmaker[AsyncSession]
    target: WatchTarget
    client: ChainSource
    after_commit: AfterCommit = _nothing
    poll_interval: float = 2.0
    max_blocks_per_round: int = 50
    reconcile_every: int = 5
    start_height: int | None = None
    rounds: int = field(default=0, init=False)
    wake: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    # the last comparison of the API's chain with the cursor's (None: not made yet)
    chain: identity.ChainCheck | None = field(default=None, init=False)
    refused_rounds: int = field(default=0, init=False)

    async def on_push(self, message: bytes) -> None:
        """Subscribed to the `chain-wake` channel: a push announced blocks, poll now."""
        self.wake.set()

    async def _pause(self, stop: asyncio.Event) -> None:
        """Until the next poll, an earlier push, or stop."""
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self.wake.wait())]
        try:
            await asyncio.wait(waiters, timeout=self.poll_interval, return_when="FIRST_COMPLETED")
        finally:
            for w in waiters:
                w.cancel()
        self.wake.clear()

    @property
    def network(self) -> str:
        return self.target.network.name

    async def _commit(self, work: Callable[[AsyncSession], Awaitable[int]]) -> int:
        async with self.sessions.begin() as session:
            result = await work(session)
        await self.after_commit(session)
        return result

    async def run_round(self) -> RoundResult:
        result = RoundResult()
        self.rounds += 1
        try:
            info = await self.client.get_info()
            tip = result.tip = info.stacks_tip_height
            if self.chain is None or not self.chain.same:
                await self._check_chain()
            result.rolled_back = await self._check_reorg(tip)
            result.blocks, result.entries = await self._follow(tip)
            result.reversed = await self._settle_lost(tip)
            result.promoted = await self._commit(lambda s: reorgs.promote_deep(s, self.target, tip))
            result.entries += await self._mempool()
            if self.rounds % self.reconcile_every == 1 or self.reconcile_every == 1:
                result.reconciled = await self.reconcile(tip)
        except ChainChanged as exc:
            # Not the cursor's chain: nothing is followed, rolled back or reconciled.
            result.error = str(exc)
        except StacksApiError as exc:
            # An outage is never a failed payment: skip the round, try again later.
            result.error = str(exc)
            log.warning("watcher round skipped: Stacks API error", error=str(exc))
        return result

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            try:
                await self.run_round()
            except Exception:  # a bug in one round must not stop the watcher
                log.exception("watcher round failed")
            await self._pause(stop)

    async def run_as_leader(
        self, engine: AsyncEngine, stop: asyncio.Event | None = None, *, standby: float = 5.0
    ) -> None:
        """Run only while holding this network's advisory lock (PostgreSQL): one active
        watcher per network, the others stand by and take over when it goes away."""
        stop = stop or asyncio.Event()
        if engine.dialect.name != "postgresql":
            # SQLite is one process's database (and one pooled connection): nothing to lock.
            await self.run(stop)
            return
        while not stop.is_set():
            try:
                async with engine.connect() as connection:
                    if await repository.try_advisory_lock(connection, self.network):
                        log.info("watcher active", network=self.network)
                        try:
                            await self._run_holding(connection, stop)
                        finally:
                            # a pooled connection would keep the session lock: release it
                            with contextlib.suppress(Exception):
                                await repository.release_advisory_lock(connection, self.network)
                        continue
            except Exception:  # the lock's connection broke: stand by, then try again
                log.exception("watcher lost its lock connection")
            log.info("watcher standing by", network=self.network)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=standby)

    async def _run_holding(self, connection: AsyncConnection, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await repository.still_connected(connection)  # raises if the lock is gone
            try:
                await self.run_round()
            except Exception:
                log.exception("watcher round failed")
            await self._pause(stop)

    # --- which chain --------------------------------------------------------------------------

    async def _check_chain(self) -> None:
        """Raises ChainChanged while the API serves another chain than the cursor's (and says
        so in the log when it starts, then every REMIND_EVERY rounds)."""
        async with self.sessions() as session:
            check = await identity.check(session, self.network, self.client)
        was, self.chain = self.chain, check
        metrics.CHAIN_NOT_FOLLOWED.labels(self.network).set(0 if check.same else 1)
        if not check.same:
            metrics.CHAIN_REFUSED_ROUNDS.labels(self.network).inc()
            if was is None or was.same or self.refused_rounds % REMIND_EVERY == 0:
                log.error(
                    "not following the chain: it is another chain, not a reorg",
                    network=self.network,
                    detail=check.message(),
                )
            self.refused_rounds += 1
            raise ChainChanged(check)
        if was is not None and not was.same:
            log.warning("the chain is the cursor's again: following it", network=self.network)
        self.refused_rounds = 0
        if check.status == "same" and check.height != identity.GENESIS_HEIGHT:
            # a cursor from before the genesis column, on its own chain: name the chain now
            genesis = await identity.genesis_hash(self.client)
            if genesis is not None:
                await self._commit(self._name_chain(genesis))

    async def follow_new_chain(self) -> identity.Followed | identity.ChainCheck:
        """`sbtc-gateway chain follow-new`: when the API serves another chain than the cursor's,
        start a new cursor at that chain's tip (`identity.follow_new`; nothing recorded of the
        old chain changes). Otherwise nothing is done, and the comparison is returned."""
        async with self.sessions() as session:
            check = await identity.check(session, self.network, self.client)
        if check.status != "changed":
            return check
        info = await self.client.get_info()
        tip = await self.client.get_block(info.stacks_tip_height)
        genesis = await identity.genesis_hash(self.client)
        async with self.sessions.begin() as session:
            followed = await identity.follow_new(session, self.target, tip, genesis)
        if followed is None:
            return check
        self.chain = None
        log.warning(
            "following a new chain from its tip",
            network=self.network,
            height=followed.new_height,
            archive=followed.archive,
            stranded=len(followed.stranded["txids"]),
        )
        return followed

    def _name_chain(self, genesis: str) -> Callable[[AsyncSession], Awaitable[int]]:
        async def work(session: AsyncSession) -> int:
            await identity.remember_genesis(session, self.network, genesis)
            return 0

        return work

    # --- following blocks ---------------------------------------------------------------------

    async def _cursor(self, tip: int) -> int:
        async with self.sessions() as session:
            cursor = await repository.get_cursor(session, self.network)
        if cursor is not None:
            return cursor.height
        # First run on this network: start at the tip (or `start_height`), and keep it, with
        # the name of its chain.
        start = tip if self.start_height is None else self.start_height - 1
        block = await self.client.get_block(start)
        genesis = await identity.genesis_hash(self.client)

        async def work(session: AsyncSession) -> int:
            if await repository.get_cursor(session, self.network) is None:
                await repository.set_cursor(
                    session, self.network, start, block.hash, genesis_hash=genesis
                )
                await repository.remember_block(session, self.network, start, block.hash)
            return 0

        await self._commit(work)
        return start

    async def _follow(self, tip: int) -> tuple[int, int]:
        height = await self._cursor(tip)
        blocks = entries = 0
        while height < tip and blocks < self.max_blocks_per_round:
            height += 1
            entries += await self.process_block(height, tip, source="poll")
            blocks += 1
        metrics.CHAIN_LAG_BLOCKS.labels(self.network).set(tip - height)
        return blocks, entries

    async def process_block(self, height: int, tip: int, *, source: str) -> int:
        block = await self.client.get_block(height)
        txs = await self.client.get_block_transactions(height)
        full = []
        for tx in txs:
            if tx.event_count > len(tx.events):  # the listing left events out: fetch them
                tx = await self.client.get_transaction(tx.tx_id, event_limit=50)
            full.append(tx)

        async def work(session: AsyncSession) -> int:
            new = 0
            for tx in full:
                new += await watch.handle_mined(
                    session, self.target, tx, tip_height=tip, source=source
                )
            await repository.remember_block(session, self.network, height, block.hash)
            await repository.set_cursor(session, self.network, height, block.hash)
            return new

        return await self._commit(work)

    async def _check_reorg(self, tip: int) -> int:
        async with self.sessions() as session:
            known = await repository.recent_blocks(session, self.network, 64)
        if not known:
            return 0
        fork: int | None = None
        for block in known:  # newest first
            try:
                current = await self.client.get_block(block.height)
            except NotFoundError:
                continue  # the chain is shorter now
            if current.hash == block.block_hash and current.canonical:
                fork = block.height
                break
        if fork == known[0].height:
            return 0
        await self._check_chain()  # raises when this is another chain, not a reorg of ours
        fork_height = fork if fork is not None else known[-1].height - 1
        log.warning("reorg detected", network=self.network, fork_height=fork_height)

        async def work(session: AsyncSession) -> int:
            moved = await reorgs.rollback(session, self.target, fork_height, tip)
            cursor = await repository.get_cursor(session, self.network)
            if cursor is not None:
                cursor.height = fork_height
            return moved

        return await self._commit(work)

    async def _settle_lost(self, tip: int) -> int:
        """Rolled-back payments and refunds that will not come back are reversed. Whether a
        transaction was dropped is asked of the Stacks API first, outside any transaction."""
        async with self.sessions() as session:
            waiting = await reorgs.in_limbo(session, self.target)
        if not waiting:
            return 0
        dropped: set[str] = set()
        for item in waiting:
            try:
                tx = await self.client.get_transaction(item.txid)
            except NotFoundError:
                continue
            if tx.status.is_final and tx.block_height is None:
                dropped.add(item.txid)
        return await self._commit(lambda s: reorgs.settle_lost(s, self.target, tip, dropped))

    async def _mempool(self) -> int:
        txs = await self.client.get_mempool_transactions(limit=50)
        new = 0
        for tx in txs:
            if decode.contract_call(tx) is None:
                continue
            new += await self._commit(self._pending_work(tx))
        return new

    def _pending_work(self, tx: TransactionInfo) -> Callable[[AsyncSession], Awaitable[int]]:
        async def work(session: AsyncSession) -> int:
            return await watch.handle_pending(session, self.target, tx, source="poll")

        return work

    def _mined_work(
        self, tx: TransactionInfo, tip: int, source: str
    ) -> Callable[[AsyncSession], Awaitable[int]]:
        async def work(session: AsyncSession) -> int:
            return await watch.handle_mined(session, self.target, tx, tip_height=tip, source=source)

        return work

    # --- reconciliation -----------------------------------------------------------------------

    async def reconcile(self, tip: int) -> int:
        """Re-check every pending intent against the chain (heals missed pushes and outages)."""
        async with self.sessions() as session:
            pending = await payment_repository.awaiting_chain(
                session, self.target.livemode, int(time.time()), 200
            )
            cursor = await repository.get_cursor(session, self.network)
        done = cursor.height if cursor else tip
        fixed = 0
        for pi in pending:
            if pi.txid:
                fixed += await self._reconcile_tx(pi.id, pi.txid, tip, done)
            elif pi.status == Status.REQUIRES_ACTION:
                contract = self.target.contract_of(pi.contract_id)
                fixed += await self._reconcile_onchain(pi.id, contract, tip, done)
        return fixed

    async def _reconcile_tx(self, intent_id: str, txid: str, tip: int, done: int) -> int:
        try:
            tx = await self.client.get_transaction(txid)
        except NotFoundError:
            return 0
        if tx.status.is_final and tx.block_height is None:  # dropped / replaced
            reason = tx.status.value

            async def gone(session: AsyncSession) -> int:
                pi = await lifecycle.lock_for_chain(session, intent_id)
                if pi is None:
                    return 0
                charge = await charges_repository.by_txid(session, self.network, txid)
                if charge is not None:
                    message = f"The payment transaction was not mined ({reason})."
                    charges.fail(
                        session, charge, failure_code="transaction_dropped", message=message
                    )
                charge_id = charge.id if charge is not None else None
                moved = lifecycle.tx_gone(
                    session, pi, txid=txid, charge_id=charge_id, reason=reason
                )
                return int(moved)

            return await self._commit(gone)
        if tx.block_height is not None and tx.canonical is not False and tx.block_height <= done:
            return await self._commit(self._mined_work(tx, tip, "reconcile"))
        return 0

    async def _reconcile_onchain(self, intent_id: str, contract: str, tip: int, done: int) -> int:
        """An intent still waiting for its wallet: did its contract record it paid anyway?"""
        try:
            value = await self.client.call_read_only(
                contract, "get-signed-intent", [StringAscii(intent_id)]
            )
        except StacksApiError as exc:
            log.info("reconcile: read-only call failed", intent=intent_id, error=str(exc))
            return 0
        record = decode.py(value)
        if not isinstance(record, dict) or record.get("status") not in ("paid", "refunded"):
            return 0
        height = record.get("paid-at")
        if not isinstance(height, int) or height > done:
            return 0
        fixed = 0
        for tx in await self.client.get_block_transactions(height):
            call = decode.contract_call(tx)
            if call is None or call.get("contract_id") != contract:
                continue
            if decode.intent_id_of(call) != intent_id:
                continue
            if tx.status is not TxStatus.SUCCESS:
                continue
            if tx.event_count > len(tx.events):
                tx = await self.client.get_transaction(tx.tx_id)
            fixed += await self._commit(self._mined_work(tx, tip, "reconcile"))
        return fixed
