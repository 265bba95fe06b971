"""The seed's BlockchainService, implemented on the Stacks API client.

``BlockchainService`` is the narrow interface the rest of the gateway depends on;
``StacksBlockchainService`` implements it for one network and one signing key (the gateway's
operator account), on top of an injected :class:`~.source.ChainSource` (the
:class:`~.client.StacksApiClient` in production). Nothing here is a module global: build one at
start-up and pass it where needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from .api_types import (
    FeeEstimate,
    NetworkInfo,
    TransactionEvent,
    TransactionInfo,
    TxStatus,
    normalize_txid,
)
from .builders import make_contract_call, make_contract_deploy
from .clarity import ClarityValue
from .errors import (
    ApiUnavailableError,
    MonitorTimeoutError,
    NotFoundError,
    StacksApiError,
    TransactionRejectedError,
)
from .keys import PrivateKey
from .networks import Network
from .postconditions import PostCondition, PostConditionMode
from .resilience import Sleep
from .source import ChainSource
from .transactions import ClarityVersion, Transaction

log = logging.getLogger(__name__)

_Builder = Callable[[PrivateKey, int, int], Transaction]


@dataclass(frozen=True, slots=True)
class BroadcastResult:
    txid: str
    nonce: int
    fee: int


@dataclass(frozen=True, slots=True)
class DeploymentResult:
    txid: str
    contract_id: str
    nonce: int
    fee: int


@dataclass(frozen=True, slots=True)
class EventCursor:
    """Where a subscription stopped: the last event delivered."""

    tx_id: str
    event_index: int


@dataclass(frozen=True, slots=True)
class FeePolicy:
    """Fees in micro-STX: the node's medium estimate clamped to [min_fee, max_fee]; when the node
    has no estimate, ``default_fee``."""

    default_fee: int = 10_000
    min_fee: int = 180
    max_fee: int = 1_000_000

    def clamp(self, fee: int) -> int:
        return max(self.min_fee, min(self.max_fee, fee))


class BlockchainService(Protocol):
    """What the gateway needs from a chain (the seed's interface, typed)."""

    async def deploy_contract(
        self, contract_name: str, code: str, *, clarity_version: ClarityVersion = ...
    ) -> DeploymentResult: ...

    async def call_contract_function(
        self,
        contract_id: str,
        function_name: str,
        args: Sequence[ClarityValue],
        *,
        post_conditions: Sequence[PostCondition] = ...,
        post_condition_mode: PostConditionMode = ...,
    ) -> BroadcastResult: ...

    async def read_contract_data(self, contract_id: str, data_var: str) -> ClarityValue: ...

    async def monitor_transaction(self, txid: str) -> TransactionInfo: ...

    async def get_transaction_events(self, txid: str) -> list[TransactionEvent]: ...

    def subscribe_to_events(
        self, contract_id: str, event_types: Sequence[str] = ...
    ) -> AsyncIterator[TransactionEvent]: ...

    async def get_network_info(self) -> NetworkInfo: ...

    async def estimate_transaction_fee(self, transaction: Transaction) -> FeeEstimate: ...

    async def broadcast_transaction(self, transaction: Transaction) -> BroadcastResult: ...


class StacksBlockchainService:
    """BlockchainService for one network, signing with ``key`` (may be None for read-only use)."""

    def __init__(
        self,
        client: ChainSource,
        network: Network,
        key: PrivateKey | None = None,
        *,
        fees: FeePolicy | None = None,
        poll_interval: float = 2.0,
        sleep: Sleep = asyncio.sleep,
    ):
        self.client = client
        self.network = network
        self._key = key
        self.fees = fees or FeePolicy()
        self.poll_interval = poll_interval
        self._sleep = sleep
        self._nonce_lock = asyncio.Lock()
        self._next_nonce: int | None = None

    def __repr__(self) -> str:
        return f"StacksBlockchainService(network={self.network.name!r}, sender={self.sender!r})"

    @property
    def sender(self) -> str | None:
        return self._key.address(self.network.single_sig_version) if self._key else None

    def _signer(self) -> PrivateKey:
        if self._key is None:
            raise ValueError("this service has no signing key")
        return self._key

    # --- nonces and fees -----------------------------------------------------------------------

    async def _reserve_nonce(self) -> int:
        """The next nonce for the sender: the API's view, never below what we already used."""
        sender = self.sender
        assert sender is not None
        try:
            nonces = await self.client.get_nonces(sender)
        except NotFoundError:
            remote = (await self.client.get_account(sender)).nonce
        else:
            if nonces.detected_missing_nonces:
                # A gap (e.g. a dropped transaction) blocks every later nonce: fill it first.
                nonce = min(nonces.detected_missing_nonces)
                self._next_nonce = nonce + 1
                return nonce
            remote = nonces.possible_next_nonce
        nonce = remote if self._next_nonce is None else max(remote, self._next_nonce)
        self._next_nonce = nonce + 1
        return nonce

    def _forget_nonce(self) -> None:
        self._next_nonce = None

    async def _fee_for(self, tx: Transaction) -> int:
        try:
            estimate = await self.client.estimate_fee(tx.payload.serialize(), len(tx.serialize()))
        except StacksApiError as exc:  # NoEstimateAvailable, CostEstimationDisabled, an outage…
            log.info("no fee estimate, using the default", extra={"status": exc.status})
            return self.fees.default_fee
        return self.fees.clamp(estimate.medium)

    async def _sign_and_send(self, build: _Builder, fee: int | None) -> BroadcastResult:
        key = self._signer()
        async with self._nonce_lock:
            nonce = await self._reserve_nonce()
            try:
                tx = build(key, nonce, fee if fee is not None else self.fees.default_fee)
                if fee is None:
                    tx = build(key, nonce, await self._fee_for(tx))
            except BaseException:
                self._next_nonce = nonce  # nothing was sent: the nonce is still free
                raise
            try:
                txid = await self.client.broadcast(tx.serialize())
            except TransactionRejectedError as exc:
                if exc.is_bad_nonce or exc.reason == "ConflictingNonceInMempool":
                    self._forget_nonce()
                else:  # the nonce was not consumed
                    self._next_nonce = nonce
                raise
            except ApiUnavailableError:
                self._next_nonce = nonce  # nothing was sent
                raise
            return BroadcastResult(txid=txid, nonce=nonce, fee=tx.origin.fee)

    # --- BlockchainService ---------------------------------------------------------------------

    async def deploy_contract(
        self,
        contract_name: str,
        code: str,
        *,
        clarity_version: ClarityVersion = ClarityVersion.CLARITY3,
        fee: int | None = None,
    ) -> DeploymentResult:
        def build(key: PrivateKey, nonce: int, fee_: int) -> Transaction:
            return make_contract_deploy(
                self.network,
                key,
                contract_name,
                code,
                nonce=nonce,
                fee=fee_,
                clarity_version=clarity_version,
            )

        result = await self._sign_and_send(build, fee)
        contract_id = f"{self.sender}.{contract_name}"
        return DeploymentResult(result.txid, contract_id, result.nonce, result.fee)

    async def call_contract_function(
        self,
        contract_id: str,
        function_name: str,
        args: Sequence[ClarityValue],
        *,
        post_conditions: Sequence[PostCondition] = (),
        post_condition_mode: PostConditionMode = PostConditionMode.DENY,
        fee: int | None = None,
    ) -> BroadcastResult:
        """Build, sign and broadcast a contract call from the service's key."""

        def build(key: PrivateKey, nonce: int, fee_: int) -> Transaction:
            return make_contract_call(
                self.network,
                key,
                contract_id,
                function_name,
                args,
                nonce=nonce,
                fee=fee_,
                post_conditions=post_conditions,
                post_condition_mode=post_condition_mode,
            )

        return await self._sign_and_send(build, fee)

    async def read_contract_data(self, contract_id: str, data_var: str) -> ClarityValue:
        return await self.client.get_data_var(contract_id, data_var)

    async def read_map_entry(
        self, contract_id: str, map_name: str, key: ClarityValue
    ) -> ClarityValue:
        return await self.client.get_map_entry(contract_id, map_name, key)

    async def call_read_only(
        self, contract_id: str, function_name: str, args: Sequence[ClarityValue] = ()
    ) -> ClarityValue:
        return await self.client.call_read_only(
            contract_id, function_name, args, sender=self.sender
        )

    async def monitor_transaction(
        self,
        txid: str,
        *,
        max_polls: int | None = 900,
        poll_interval: float | None = None,
    ) -> TransactionInfo:
        """Poll until the transaction is final: mined (success or abort) or dropped.

        An unknown txid (not indexed yet) and API outages are waited out, not treated as failure;
        after ``max_polls`` polls MonitorTimeoutError says the outcome is still unknown.
        """
        txid = normalize_txid(txid)
        interval = self.poll_interval if poll_interval is None else poll_interval
        last: str | None = None
        polls = 0
        while max_polls is None or polls < max_polls:
            polls += 1
            try:
                info = await self.client.get_transaction(txid)
            except NotFoundError:
                last = "not found"
            except ApiUnavailableError as exc:
                last = f"API unavailable ({exc})"
            else:
                last = info.status.value
                if info.status.is_final:
                    return info
            await self._sleep(interval)
        raise MonitorTimeoutError(txid, last)

    async def get_transaction_events(self, txid: str) -> list[TransactionEvent]:
        return await self.client.get_transaction_events(txid)

    async def subscribe_to_events(
        self,
        contract_id: str,
        event_types: Sequence[str] = ("smart_contract_log",),
        *,
        after: EventCursor | None = None,
        start: Literal["now", "beginning"] = "now",
        poll_interval: float | None = None,
        max_pages: int = 20,
    ) -> AsyncIterator[TransactionEvent]:
        """Yield the contract's new print events, oldest first, forever (polling).

        The API lists newest first, so each poll pages back until it meets the last delivered
        event (``after``, or the newest one when ``start="now"``) and yields what is newer. Keep
        ``EventCursor(e.tx_id, e.event_index)`` of the last handled event to resume after a
        restart. Delivery is at least once: handle events idempotently on (tx_id, event_index).
        """
        interval = self.poll_interval if poll_interval is None else poll_interval
        cursor = after
        primed = after is not None or start == "beginning"
        while True:
            try:
                if not primed:
                    # Start from now: remember the newest event without delivering it.
                    page = await self.client.get_contract_logs(contract_id, limit=1)
                    if page.events:
                        cursor = EventCursor(page.events[0].tx_id, page.events[0].event_index)
                    primed = True
                else:
                    for event in await self._events_since(contract_id, cursor, max_pages):
                        cursor = EventCursor(event.tx_id, event.event_index)
                        if not event_types or event.event_type in event_types:
                            yield event
            except NotFoundError:
                raise
            except StacksApiError as exc:  # an outage: keep polling
                log.warning("event poll failed: %s", exc, extra={"contract": contract_id})
            await self._sleep(interval)

    async def _events_since(
        self, contract_id: str, cursor: EventCursor | None, max_pages: int
    ) -> list[TransactionEvent]:
        newer: list[TransactionEvent] = []
        page_cursor: str | None = None
        for _ in range(max_pages):
            page = await self.client.get_contract_logs(contract_id, cursor=page_cursor)
            for event in page.events:
                if cursor and (event.tx_id, event.event_index) == (
                    cursor.tx_id,
                    cursor.event_index,
                ):
                    return list(reversed(newer))
                newer.append(event)
            if page.next_cursor is None:
                break
            page_cursor = page.next_cursor
        return list(reversed(newer))

    async def get_network_info(self) -> NetworkInfo:
        return await self.client.get_info()

    async def estimate_transaction_fee(self, transaction: Transaction) -> FeeEstimate:
        """The node's low/medium/high total fee for this transaction (micro-STX)."""
        return await self.client.estimate_fee(
            transaction.payload.serialize(), len(transaction.serialize())
        )

    async def broadcast_transaction(self, transaction: Transaction) -> BroadcastResult:
        """Broadcast an already signed transaction (e.g. one a customer's wallet signed)."""
        txid = await self.client.broadcast(transaction.serialize())
        return BroadcastResult(
            txid=txid, nonce=transaction.origin.nonce, fee=transaction.origin.fee
        )

    async def get_status(self, txid: str) -> TxStatus | None:
        """The transaction's status now, or None if the API does not know it (yet)."""
        try:
            return (await self.client.get_transaction(txid)).status
        except NotFoundError:
            return None
