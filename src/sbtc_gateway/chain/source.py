"""`ChainSource`: what the gateway reads from a Stacks chain and sends to it.

Exactly the methods of :class:`~.client.StacksApiClient` that the gateway calls — the watcher
(tip, blocks and their transactions, the mempool, one transaction, a read-only call), the tip
cache behind confirmations and readiness (`get_info`), and
:class:`~.service.StacksBlockchainService` (nonces, broadcast, fee estimate, data vars, map
entries, events, contract logs). `StacksApiClient` satisfies it; so does the in-memory fake chain
of the unit tests (`tests/fakes/chain.py`), which is why these are written down here rather than
left implied by the client class. Adding a call to the gateway means adding it here first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .api_types import (
    AccountInfo,
    BlockInfo,
    ContractLogPage,
    FeeEstimate,
    NetworkInfo,
    NonceInfo,
    TransactionEvent,
    TransactionInfo,
)
from .clarity import ClarityValue


class ChainSource(Protocol):
    """A Stacks node RPC plus Hiro API, as the gateway uses it. Errors are the client's
    (`NotFoundError`, `TransactionRejectedError`, `ReadOnlyCallError`, `ApiUnavailableError`…)."""

    # --- node RPC ------------------------------------------------------------------------------

    async def get_info(self) -> NetworkInfo: ...

    async def get_account(self, principal: str) -> AccountInfo: ...

    async def broadcast(self, raw_tx: bytes) -> str: ...

    async def call_read_only(
        self,
        contract_id: str,
        function_name: str,
        args: Sequence[ClarityValue] = ...,
        *,
        sender: str | None = ...,
    ) -> ClarityValue: ...

    async def get_map_entry(
        self, contract_id: str, map_name: str, key: ClarityValue
    ) -> ClarityValue: ...

    async def get_data_var(self, contract_id: str, var_name: str) -> ClarityValue: ...

    async def estimate_fee(
        self, payload: bytes, estimated_len: int | None = ...
    ) -> FeeEstimate: ...

    # --- Hiro extended API ---------------------------------------------------------------------

    async def get_nonces(self, principal: str) -> NonceInfo: ...

    async def get_transaction(
        self, txid: str, *, event_offset: int = ..., event_limit: int = ...
    ) -> TransactionInfo: ...

    async def get_transaction_events(
        self, txid: str, *, page_size: int = ...
    ) -> list[TransactionEvent]: ...

    async def get_contract_logs(
        self, contract_id: str, *, cursor: str | None = ..., limit: int = ...
    ) -> ContractLogPage: ...

    async def get_block(self, height_or_hash: int | str = ...) -> BlockInfo: ...

    async def get_block_transactions(
        self, height_or_hash: int | str, *, limit: int = ...
    ) -> list[TransactionInfo]: ...

    async def get_mempool_transactions(self, *, limit: int = ...) -> list[TransactionInfo]: ...
