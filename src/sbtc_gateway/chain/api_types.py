"""Typed results of the Stacks node RPC and the Hiro extended API.

Every parser here reads the JSON shapes in one place, tolerates fields it does not know, and keeps
the original object in ``raw`` for whatever a caller needs beyond the typed fields. Amounts are
integers (the API sends them as decimal strings, balances as ``0x`` hex).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .clarity import ClarityValue, deserialize
from .errors import ClarityError, StacksApiError


def normalize_txid(txid: str) -> str:
    """Lower-case hex without ``0x``; raises ValueError unless it is 32 bytes of hex."""
    text = txid.strip().lower().removeprefix("0x")
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"not a transaction id: {txid!r}")
    return text


def _int(value: Any, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise StacksApiError(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text, 16) if text.lower().startswith("0x") else int(text)
        except ValueError:
            pass
    raise StacksApiError(f"expected an integer, got {value!r}")


def _req_int(value: Any) -> int:
    result = _int(value)
    if result is None:
        raise StacksApiError("missing integer field")
    return result


def _whole_fee(value: Any) -> int:
    # Fees are integers of micro-STX; a fractional estimate is rounded up, exactly (no floats).
    if isinstance(value, float):
        return math.ceil(Decimal(repr(value)))
    return _req_int(value)


def _clarity(hex_value: Any) -> ClarityValue | None:
    if not isinstance(hex_value, str) or not hex_value:
        return None
    try:
        return deserialize(hex_value)
    except ClarityError:
        return None


class TxStatus(StrEnum):
    PENDING = "pending"
    SUCCESS = "success"
    ABORT_BY_RESPONSE = "abort_by_response"
    ABORT_BY_POST_CONDITION = "abort_by_post_condition"
    DROPPED_REPLACE_BY_FEE = "dropped_replace_by_fee"
    DROPPED_REPLACE_ACROSS_FORK = "dropped_replace_across_fork"
    DROPPED_TOO_EXPENSIVE = "dropped_too_expensive"
    DROPPED_STALE_GARBAGE_COLLECT = "dropped_stale_garbage_collect"
    DROPPED_PROBLEMATIC = "dropped_problematic"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, text: Any) -> TxStatus:
        try:
            return cls(str(text))
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_mined(self) -> bool:
        return self in (self.SUCCESS, self.ABORT_BY_RESPONSE, self.ABORT_BY_POST_CONDITION)

    @property
    def is_dropped(self) -> bool:
        return self.value.startswith("dropped_")

    @property
    def is_final(self) -> bool:
        """Mined (either way) or dropped from the mempool: polling will not change it by itself."""
        return self.is_mined or self.is_dropped


@dataclass(frozen=True, slots=True)
class NetworkInfo:
    network_id: int
    stacks_tip_height: int
    stacks_tip: str
    burn_block_height: int
    server_version: str
    tenure_height: int | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NetworkInfo:
        return cls(
            network_id=_req_int(data.get("network_id")),
            stacks_tip_height=_req_int(data.get("stacks_tip_height")),
            stacks_tip=str(data.get("stacks_tip", "")),
            burn_block_height=_req_int(data.get("burn_block_height")),
            server_version=str(data.get("server_version", "")),
            tenure_height=_int(data.get("tenure_height")),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class AccountInfo:
    balance: int
    locked: int
    nonce: int
    unlock_height: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AccountInfo:
        return cls(
            balance=_int(data.get("balance"), 0) or 0,
            locked=_int(data.get("locked"), 0) or 0,
            nonce=_int(data.get("nonce"), 0) or 0,
            unlock_height=_int(data.get("unlock_height"), 0) or 0,
        )


@dataclass(frozen=True, slots=True)
class NonceInfo:
    possible_next_nonce: int
    last_executed_tx_nonce: int | None
    last_mempool_tx_nonce: int | None
    detected_missing_nonces: tuple[int, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NonceInfo:
        return cls(
            possible_next_nonce=_req_int(data.get("possible_next_nonce")),
            last_executed_tx_nonce=_int(data.get("last_executed_tx_nonce")),
            last_mempool_tx_nonce=_int(data.get("last_mempool_tx_nonce")),
            detected_missing_nonces=tuple(
                _req_int(n) for n in data.get("detected_missing_nonces") or ()
            ),
        )


@dataclass(frozen=True, slots=True)
class FeeEstimate:
    """Total fees in micro-STX for a low, medium and high priority."""

    low: int
    medium: int
    high: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeeEstimate:
        estimations = data.get("estimations") or []
        fees = sorted(_whole_fee(e["fee"]) for e in estimations if "fee" in e)
        if len(fees) < 3:
            raise StacksApiError("fee estimate without three estimations")
        return cls(low=fees[0], medium=fees[1], high=fees[2])

    @classmethod
    def from_priorities(cls, data: Mapping[str, Any]) -> FeeEstimate:
        """Hiro's ``{low_priority, medium_priority, high_priority}`` (micro-STX)."""
        return cls(
            low=_whole_fee(data.get("low_priority", 0)),
            medium=_whole_fee(data.get("medium_priority", 0)),
            high=_whole_fee(data.get("high_priority", 0)),
        )


@dataclass(frozen=True, slots=True)
class TransactionEvent:
    """One event of a transaction as the Hiro API lists it.

    ``value`` is set for ``smart_contract_log`` (the printed value); the ``asset_*`` fields for
    ``fungible_token_asset``, ``non_fungible_token_asset`` and ``stx_asset`` events.
    """

    tx_id: str
    event_index: int
    event_type: str
    contract_id: str | None = None
    topic: str | None = None
    value: ClarityValue | None = None
    value_repr: str | None = None
    asset_event_type: str | None = None
    asset_id: str | None = None
    sender: str | None = None
    recipient: str | None = None
    amount: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], tx_id: str | None = None) -> TransactionEvent:
        log = data.get("contract_log") or {}
        asset = data.get("asset") or {}
        value = log.get("value") or {}
        return cls(
            tx_id=normalize_txid(str(data.get("tx_id") or tx_id or "")),
            event_index=_req_int(data.get("event_index")),
            event_type=str(data.get("event_type", "")),
            contract_id=log.get("contract_id"),
            topic=log.get("topic"),
            value=_clarity(value.get("hex")),
            value_repr=value.get("repr"),
            asset_event_type=asset.get("asset_event_type"),
            asset_id=asset.get("asset_id"),
            sender=asset.get("sender"),
            recipient=asset.get("recipient"),
            amount=_int(asset.get("amount")),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class TransactionInfo:
    tx_id: str
    status: TxStatus
    tx_type: str
    nonce: int | None
    fee: int | None
    sender_address: str | None
    canonical: bool | None
    block_height: int | None
    block_hash: str | None
    burn_block_height: int | None
    tx_result: ClarityValue | None
    tx_result_repr: str | None
    event_count: int
    events: tuple[TransactionEvent, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TransactionInfo:
        tx_id = normalize_txid(str(data.get("tx_id", "")))
        result = data.get("tx_result") or {}
        events = tuple(TransactionEvent.from_json(e, tx_id) for e in data.get("events") or ())
        canonical = data.get("canonical")
        return cls(
            tx_id=tx_id,
            status=TxStatus.parse(data.get("tx_status")),
            tx_type=str(data.get("tx_type", "")),
            nonce=_int(data.get("nonce")),
            fee=_int(data.get("fee_rate")),
            sender_address=data.get("sender_address"),
            canonical=canonical if isinstance(canonical, bool) else None,
            block_height=_int(data.get("block_height")),
            block_hash=data.get("block_hash") or None,
            burn_block_height=_int(data.get("burn_block_height")),
            tx_result=_clarity(result.get("hex")),
            tx_result_repr=result.get("repr"),
            event_count=_int(data.get("event_count"), len(events)) or 0,
            events=events,
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Balances:
    """Address balances: STX, and fungible tokens keyed ``addr.contract::asset``."""

    stx: int
    stx_locked: int
    fungible_tokens: Mapping[str, int]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Balances:
        stx = data.get("stx") or {}
        tokens = data.get("fungible_tokens") or {}
        return cls(
            stx=_int(stx.get("balance"), 0) or 0,
            stx_locked=_int(stx.get("locked"), 0) or 0,
            fungible_tokens={
                str(asset): _int(entry.get("balance"), 0) or 0 for asset, entry in tokens.items()
            },
        )

    def token(self, asset_id: str) -> int:
        """Balance of one fungible token (0 when the address never held it)."""
        return self.fungible_tokens.get(asset_id, 0)


@dataclass(frozen=True, slots=True)
class TransactionPage:
    transactions: tuple[TransactionInfo, ...]
    total: int | None
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class ContractLogPage:
    events: tuple[TransactionEvent, ...]
    next_cursor: str | None
    total: int | None


@dataclass(frozen=True, slots=True)
class BlockInfo:
    height: int
    hash: str
    index_block_hash: str
    parent_index_block_hash: str
    burn_block_height: int
    canonical: bool
    tx_count: int
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BlockInfo:
        return cls(
            height=_req_int(data.get("height")),
            hash=str(data.get("hash", "")),
            index_block_hash=str(data.get("index_block_hash", "")),
            parent_index_block_hash=str(data.get("parent_index_block_hash", "")),
            burn_block_height=_req_int(data.get("burn_block_height")),
            canonical=bool(data.get("canonical", True)),
            tx_count=_int(data.get("tx_count"), 0) or 0,
            raw=data,
        )
