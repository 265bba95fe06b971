"""The worker step of the operator outbox: sign, store, then broadcast (ADR 0012).

One run (`run_once`) for one network:
1. read the sender's nonces from the chain (only when something waits to be signed);
2. one short transaction: claim due calls (lease), take nonces from the database's counter,
   sign, store the raw transaction and its txid, commit;
3. after the commit, broadcast what was signed and look up what was broadcast, each outcome
   written in its own short transaction.
No network call happens while a database transaction is open, and nothing is broadcast that is
not stored first, so a crash at any point leaves either nothing sent or a stored transaction the
next run broadcasts again (the same bytes, the same txid).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.chain import (
    BroadcastOutcomeUnknownError,
    ChainError,
    NonceInfo,
    NotFoundError,
    PrivateKey,
    StacksApiError,
    TransactionInfo,
    TransactionRejectedError,
    TxStatus,
)
from sbtc_gateway.chain.networks import Network
from sbtc_gateway.operator import calls, repository
from sbtc_gateway.operator.models import OperatorCall, OperatorNonce
from sbtc_gateway.operator.state import CallStatus

log = structlog.get_logger(__name__)
S = CallStatus
# The node refused the nonce: the transaction is not in its mempool (and never will be).
NONCE_REJECTIONS = frozenset({"BadNonce", "ConflictingNonceInMempool"})


class OperatorChain(Protocol):
    """What the outbox needs from a Stacks API (StacksApiClient is one)."""

    async def get_nonces(self, principal: str) -> NonceInfo: ...

    async def broadcast(self, raw_tx: bytes) -> str: ...

    async def get_transaction(self, txid: str) -> TransactionInfo: ...


@dataclass(frozen=True, slots=True)
class OperatorAccount:
    network: Network
    key: PrivateKey = field(repr=False)

    @property
    def sender(self) -> str:
        return self.key.address(self.network.single_sig_version)


@dataclass(frozen=True, slots=True)
class OperatorConfig:
    batch: int = 25
    tx_fee: int = 10_000  # micro-STX per transaction
    # How long a worker owns the calls it claimed; then another worker takes them over.
    lease_seconds: int = 120
    # How often a broadcast transaction is looked up until it is mined or dropped.
    recheck_seconds: int = 30
    # After a refusal other than the nonce (e.g. NotEnoughFunds for the STX fee): wait, retry.
    retry_seconds: int = 60
    max_attempts: int = 10


@dataclass(frozen=True, slots=True)
class CallUpdate:
    """What a call's owner learns, in the same transaction, when the worker signs the call
    (`signed`, with the txid) or gives it up (`failed`)."""

    id: str
    network: str
    function: str
    intent_id: str
    status: CallStatus
    txid: str | None


@dataclass
class RunResult:
    signed: int = 0
    broadcast: int = 0
    confirmed: int = 0
    failed: int = 0
    requeued: int = 0


OnChange = Callable[[AsyncSession, CallUpdate], Awaitable[None]]
AfterCommit = Callable[[AsyncSession], Awaitable[None]]


def next_nonce(floor: int, chain: NonceInfo, held: set[int]) -> int:
    """The nonce to hand out: a gap the chain reports that none of ours holds (a later nonce
    cannot be mined before it), else max(database's next, chain's next), past any held one."""
    gaps = sorted(n for n in chain.detected_missing_nonces if n not in held)
    if gaps:
        return gaps[0]
    nonce = max(floor, chain.possible_next_nonce)
    while nonce in held:
        nonce += 1
    return nonce


async def run_once(
    sessions: async_sessionmaker[AsyncSession],
    chain: OperatorChain,
    account: OperatorAccount,
    *,
    worker_id: str,
    config: OperatorConfig | None = None,
    on_change: OnChange | None = None,
    after_commit: AfterCommit | None = None,
    clock: Callable[[], float] = time.time,
) -> RunResult:
    """Sign, broadcast and follow up to `config.batch` due calls of `account.network`."""
    step = _Step(
        sessions, chain, account, worker_id, config or OperatorConfig(), clock, on_change,
        after_commit,
    )  # fmt: skip
    for job in await step.claim():
        if job.status is S.SIGNED:
            await step.broadcast(job)
        else:
            await step.follow(job)
    return step.result


class _Step:
    """One run of the worker step; every write is conditional on this worker's lease."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        chain: OperatorChain,
        account: OperatorAccount,
        worker_id: str,
        config: OperatorConfig,
        clock: Callable[[], float],
        on_change: OnChange | None,
        after_commit: AfterCommit | None,
    ):
        self.sessions = sessions
        self.chain = chain
        self.account = account
        self.network = account.network.name
        self.worker_id = worker_id
        self.config = config
        self.clock = clock
        self.on_change = on_change
        self.after_commit = after_commit
        self.result = RunResult()

    def now(self) -> int:
        return int(self.clock())

    async def _notify(self, session: AsyncSession, call: OperatorCall | _Job, status: S) -> None:
        if self.on_change is not None:
            update = CallUpdate(
                call.id, self.network, call.function, call.intent_id, status, call.txid
            )
            await self.on_change(session, update)

    async def _committed(self, session: AsyncSession) -> None:
        if self.after_commit is not None:
            await self.after_commit(session)

    # --- 1 and 2: read the chain, then one short transaction ---

    async def _chain_nonces(self) -> NonceInfo | None:
        """Read before any database transaction opens; None when nothing waits to be signed
        or the API cannot say (queued calls then wait for the next run)."""
        async with self.sessions() as session:
            waiting = await repository.has_due(session, self.network, self.now(), [S.QUEUED])
        if not waiting:
            return None
        try:
            return await self.chain.get_nonces(self.account.sender)
        except StacksApiError as exc:
            log.warning("operator nonces unavailable", network=self.network, error=str(exc))
            return None

    async def claim(self) -> list[_Job]:
        nonces = await self._chain_nonces()
        statuses = [S.SIGNED, S.BROADCAST] + ([S.QUEUED] if nonces is not None else [])
        now = self.now()
        jobs: list[_Job] = []
        async with self.sessions.begin() as session:
            claimed = await repository.claim_due(
                session, self.network, now, self.config.batch, statuses
            )
            counter: OperatorNonce | None = None
            held: set[int] = set()
            for call in claimed:
                call.leased_by = self.worker_id
                call.lease_until = now + self.config.lease_seconds
                call.updated = now
                if call.status == S.QUEUED:
                    assert nonces is not None
                    if counter is None:
                        sender = self.account.sender
                        counter = await repository.lock_nonce(session, self.network, sender)
                        held = await repository.held_nonces(session, self.network, sender)
                    nonce = next_nonce(counter.next_nonce, nonces, held)
                    if not self._sign(call, nonce):
                        await self._notify(session, call, S.FAILED)
                        continue
                    held.add(nonce)
                    counter.next_nonce = max(counter.next_nonce, nonce + 1)
                    counter.updated = now
                    await self._notify(session, call, S.SIGNED)
                jobs.append(_Job.of(call))
        await self._committed(session)
        return jobs

    def _sign(self, call: OperatorCall, nonce: int) -> bool:
        try:
            tx = calls.build(
                call, self.account.network, self.account.key, nonce=nonce, fee=self.config.tx_fee
            )
        except (ValueError, ChainError) as exc:  # a call that can never be built
            call.status, call.last_error, call.leased_by = S.FAILED.value, str(exc), None
            call.completed_at = self.now()
            self.result.failed += 1
            log.error("operator call cannot be built", call=call.id, error=str(exc))
            return False
        call.status = S.SIGNED.value
        call.sender = self.account.sender
        call.nonce = nonce
        call.fee = tx.origin.fee
        call.raw_tx = tx.serialize().hex()
        call.txid = tx.txid()
        call.attempts += 1
        self.result.signed += 1
        return True

    # --- 3: after the commit ---

    async def broadcast(self, job: _Job) -> None:
        """Send the stored transaction (again, after a crash: the same bytes, the same txid)."""
        try:
            await self.chain.broadcast(job.raw_tx)
        except TransactionRejectedError as exc:
            await self._rejected(job, exc)
        except BroadcastOutcomeUnknownError as exc:
            # It may be in the mempool: keep it; the lease's end brings the same bytes back.
            log.warning("operator broadcast outcome unknown", call=job.id, error=str(exc))
        except StacksApiError as exc:  # nothing was sent: retried when the lease ends
            log.warning("operator broadcast not sent", call=job.id, error=str(exc))
        else:
            await self._accepted(job)

    async def _accepted(self, job: _Job) -> None:
        """The node has the transaction: look it up again in `recheck_seconds`."""
        now = self.now()
        values: dict[str, object] = {
            "lease_until": now + self.config.recheck_seconds,
            "leased_by": None,
            "updated": now,
        }
        if job.status is S.SIGNED:
            values["broadcast_at"] = now
        async with self.sessions.begin() as session:
            moved = await repository.move(
                session, job.id, S.BROADCAST, values, leased_by=self.worker_id, expected=job.status
            )
        if moved and job.status is S.SIGNED:
            self.result.broadcast += 1
            log.info("operator call broadcast", call=job.id, txid=job.txid, nonce=job.nonce)

    async def _rejected(self, job: _Job, exc: TransactionRejectedError) -> None:
        if exc.reason in NONCE_REJECTIONS:
            # A node also refuses, for its nonce, a transaction it has already mined: make sure
            # this one is not ours before giving the nonce up.
            known = await self._lookup(job)
            if known is None:
                return  # the API cannot say: again when the lease ends
            if known.status.is_mined or known.status is TxStatus.PENDING:
                await self._accepted(job)
                return
        await self._requeue(job, exc.reason, backoff=exc.reason not in NONCE_REJECTIONS)

    async def _lookup(self, job: _Job) -> TransactionInfo | None:
        """The transaction as the API knows it (status `unknown` if it does not), or None when
        the API cannot answer."""
        try:
            return await self.chain.get_transaction(job.txid)
        except NotFoundError:
            return TransactionInfo.from_json({"tx_id": job.txid, "tx_status": "unknown"})
        except StacksApiError as exc:
            log.warning("operator transaction lookup failed", call=job.id, error=str(exc))
            return None

    async def _requeue(self, job: _Job, reason: str, *, backoff: bool) -> None:
        """The transaction cannot be mined: give its nonce up, so a new transaction is signed
        next time (or, after too many refusals, the call fails)."""
        now = self.now()
        give_up = backoff and job.attempts >= self.config.max_attempts
        common = {
            "leased_by": None,
            "last_error": f"{reason} (txid {job.txid}, nonce {job.nonce})",
            "updated": now,
        }
        target = S.FAILED if give_up else S.QUEUED
        if give_up:
            values: dict[str, object] = {**common, "completed_at": now}
        else:
            values = {
                **common,
                **dict.fromkeys(("sender", "nonce", "fee", "raw_tx", "txid")),
                "lease_until": now + (self.config.retry_seconds if backoff else 0),
            }
        async with self.sessions.begin() as session:
            moved = await repository.move(
                session, job.id, target, values, leased_by=self.worker_id, expected=job.status
            )
            if moved:
                await repository.lower_next_nonce(session, self.network, job.sender, job.nonce)
                if give_up:
                    await self._notify(session, job, S.FAILED)
        await self._committed(session)
        if moved:
            self.result.failed += int(give_up)
            self.result.requeued += int(not give_up)
            log.warning("operator call not mined", call=job.id, reason=reason, failed=give_up)

    async def follow(self, job: _Job) -> None:
        """A broadcast transaction: mined (confirmed or failed), dropped (requeued), still
        pending (look again later), or unknown to the API (send the same bytes again)."""
        info = await self._lookup(job)
        if info is None:
            return
        if info.status is TxStatus.UNKNOWN:
            await self.broadcast(job)
        elif info.status.is_dropped:
            await self._requeue(job, info.status.value, backoff=False)
        elif not info.status.is_mined:
            await self._accepted(job)
        else:
            await self._mined(job, info)

    async def _mined(self, job: _Job, info: TransactionInfo) -> None:
        now = self.now()
        ok = info.status is TxStatus.SUCCESS
        target = S.CONFIRMED if ok else S.FAILED
        values: dict[str, object] = {"completed_at": now, "leased_by": None, "updated": now}
        if not ok:
            values["last_error"] = info.tx_result_repr or info.status.value
        async with self.sessions.begin() as session:
            moved = await repository.move(
                session, job.id, target, values, leased_by=self.worker_id, expected=job.status
            )
            if moved and not ok:
                await self._notify(session, job, S.FAILED)
        await self._committed(session)
        if moved:
            self.result.confirmed += int(ok)
            self.result.failed += int(not ok)


@dataclass(frozen=True, slots=True)
class _Job:
    """A claimed, signed call: what the steps after the commit need (no ORM object)."""

    id: str
    status: CallStatus
    function: str
    intent_id: str
    sender: str
    nonce: int
    raw_tx: bytes
    txid: str
    attempts: int

    @classmethod
    def of(cls, call: OperatorCall) -> _Job:
        assert call.sender is not None
        assert call.nonce is not None
        assert call.raw_tx is not None
        assert call.txid is not None
        return cls(
            id=call.id,
            status=S(call.status),
            function=call.function,
            intent_id=call.intent_id,
            sender=call.sender,
            nonce=call.nonce,
            raw_tx=bytes.fromhex(call.raw_tx),
            txid=call.txid,
            attempts=call.attempts,
        )
