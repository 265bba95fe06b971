"""The fake chain's HTTP surface: the node RPC and Hiro API routes the gateway calls.

`FakeChain` (tests/fakes/chain.py) talks to its own `StacksApiClient` through an
`httpx.MockTransport` whose handler is `HiroApi.handle`, so every answer is built here as the JSON
a node and the Hiro API send (the shapes of `devnet/src/shapes.mjs`: the same fields, value
formats, paging limits and 400/404 bodies) and read back by the client's own parsers.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from sbtc_gateway.chain import (
    ClarityValue,
    ContractPrincipal,
    Ok,
    StandardPrincipal,
    TransactionRejectedError,
    UInt,
    deserialize,
)
from sbtc_gateway.chain.errors import ClarityError
from sbtc_gateway.chain.postconditions import (
    FungibleConditionCode,
    FungiblePostCondition,
    NonFungibleConditionCode,
    OriginPrincipal,
    PostCondition,
    PostConditionMode,
    StxPostCondition,
)
from sbtc_gateway.chain.transactions import AnchorMode, ContractCallPayload
from tests.fakes import chain_contract as contract
from tests.fakes.chain_contract import ContractEvent, Print

if TYPE_CHECKING:
    from tests.fakes.chain import FakeBlock, FakeChain, FakeTx

MICROBLOCK_SEQ_NONE = 2147483647
STX_BALANCE = 100_000_000_000_000  # every account's (unmodelled) STX, as the devnet starts them
SERVER_VERSION = "stacks-node sbtc-gateway fakechain"
_PC_MODE = {
    PostConditionMode.ALLOW: "allow",
    PostConditionMode.DENY: "deny",
    PostConditionMode.ORIGINATOR: "originator",
}
_ANCHOR = {
    AnchorMode.ON_CHAIN_ONLY: "on_chain_only",
    AnchorMode.OFF_CHAIN_ONLY: "off_chain_only",
    AnchorMode.ANY: "any",
}
_FT_CODE = {
    FungibleConditionCode.EQ: "sent_equal_to",
    FungibleConditionCode.GT: "sent_greater_than",
    FungibleConditionCode.GTE: "sent_greater_than_or_equal_to",
    FungibleConditionCode.LT: "sent_less_than",
    FungibleConditionCode.LTE: "sent_less_than_or_equal_to",
}
_NO_COST = {
    "execution_cost_read_count": 0,
    "execution_cost_read_length": 0,
    "execution_cost_runtime": 0,
    "execution_cost_write_count": 0,
    "execution_cost_write_length": 0,
}


def digest(*parts: object) -> str:
    """A stable 0x-prefixed SHA-256 of the parts (block, burn and miner hashes)."""
    return "0x" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _u128(value: int) -> str:
    return "0x" + value.to_bytes(16, "big").hex()


def _cv(value: ClarityValue) -> dict[str, str]:
    return {"hex": "0x" + value.serialize().hex(), "repr": repr(value)}


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HiroApi:
    """Routes over one fake chain's state."""

    def __init__(self, chain: FakeChain) -> None:
        self.chain = chain

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.chain.outage:
            return httpx.Response(503, json={"error": "fake outage"})
        path, params = request.url.path, request.url.params
        try:
            for method, pattern, route in self._routes():
                match = re.fullmatch(pattern, path)
                if method == request.method and match:
                    return httpx.Response(200, json=route(match, params, request.content))
            raise HttpError(404, f"no route for {request.method} {path}")
        except TransactionRejectedError as exc:
            body: dict[str, Any] = {
                "error": "transaction rejected",
                "reason": exc.reason,
                "txid": exc.txid,
            }
            if exc.reason_data:
                body["reason_data"] = dict(exc.reason_data)
            return httpx.Response(400, json=body)
        except HttpError as exc:
            return httpx.Response(exc.status, json={"error": str(exc)})

    def _routes(
        self,
    ) -> list[tuple[str, str, Callable[[re.Match[str], httpx.QueryParams, bytes], Any]]]:
        who = r"([A-Z0-9]+(?:\.[a-zA-Z][a-zA-Z0-9_-]*)?)"
        contract_re = r"([A-Z0-9]+)/([a-zA-Z][a-zA-Z0-9_-]*)"
        name_re = r"([a-zA-Z][a-zA-Z0-9_?!-]*)"
        return [
            ("GET", "/v2/info", lambda m, q, b: self._info()),
            ("GET", f"/v2/accounts/{who}", lambda m, q, b: self._account(m[1])),
            ("POST", "/v2/transactions", lambda m, q, b: self.chain.admit(b, None, verify=True)),
            ("POST", f"/v2/contracts/call-read/{contract_re}/{name_re}", self._call_read),
            ("POST", f"/v2/map_entry/{contract_re}/{name_re}", self._map_entry),
            ("GET", f"/v2/data_var/{contract_re}/{name_re}", self._data_var),
            ("POST", "/v2/fees/transaction", lambda m, q, b: self._fee_estimate(b)),
            ("GET", f"/extended/v1/address/{who}/nonces", lambda m, q, b: self._nonces(m[1])),
            ("GET", "/extended/v1/tx/mempool", lambda m, q, b: self._mempool_page(q)),
            ("GET", r"/extended/v1/tx/(?:0x)?([0-9a-fA-F]{64})", self._tx),
            ("GET", r"/extended/v2/smart-contracts/([A-Z0-9]+\.[^/]+)/logs", self._logs),
            ("GET", r"/extended/v2/blocks/([^/]+)", lambda m, q, b: self._block(m[1])),
            ("GET", r"/extended/v2/blocks/([^/]+)/transactions", self._block_txs),
        ]  # fmt: skip

    @staticmethod
    def _limit(params: httpx.QueryParams, name: str, default: int, most: int | None) -> int:
        raw = params.get(name)
        if raw in (None, ""):
            return default
        if not str(raw).isdigit():
            raise HttpError(400, f"{name} must be a non-negative integer")
        if most is not None and int(raw) > most:
            raise HttpError(400, f"{name} must be at most {most}")
        return int(raw)

    def _info(self) -> dict[str, Any]:
        tip = self.chain.tip
        consensus = tip.burn_block_hash[2:42]
        return {
            "peer_version": 4207599113,
            "pox_consensus": consensus,
            "burn_block_height": tip.burn_block_height,
            "stable_pox_consensus": consensus,
            "stable_burn_block_height": max(0, tip.burn_block_height - 1),
            "server_version": SERVER_VERSION,
            "network_id": self.chain.network.chain_id,
            "parent_network_id": 3669344250,
            "stacks_tip_height": tip.height,
            "stacks_tip": tip.hash[2:],
            "stacks_tip_consensus_hash": consensus,
            "unanchored_tip": tip.index_block_hash[2:],
            "exit_at_block_height": None,
            "tenure_height": tip.burn_block_height,
            "is_fully_synced": True,
            "genesis_chainstate_hash": "0" * 64,
        }

    def _account(self, principal: str) -> dict[str, Any]:
        return {
            "balance": _u128(STX_BALANCE),
            "locked": _u128(0),
            "unlock_height": 0,
            "nonce": self.chain.confirmed_nonce(principal),
        }

    def _nonces(self, principal: str) -> dict[str, Any]:
        confirmed = self.chain.confirmed_nonce(principal)
        pending = sorted(r.nonce for r in self.chain.pending_of(principal))
        last = pending[-1] if pending else None
        # the gaps below the highest pending nonce, highest first (as the Hiro API lists them)
        below = range(last - 1, confirmed - 1, -1) if last is not None else range(0)
        missing = [n for n in below if n not in pending]
        possible = self.chain.possible_next_nonce(principal)
        if last is not None and not missing:
            possible = max(possible, last + 1)
        return {
            "last_mempool_tx_nonce": last,
            "last_executed_tx_nonce": confirmed - 1 if confirmed > 0 else None,
            "possible_next_nonce": possible,
            "detected_missing_nonces": missing,
            "detected_mempool_nonces": pending,
        }

    def _read_json(self, body: bytes) -> Any:
        try:
            return json.loads(body or b"{}")
        except ValueError:
            raise HttpError(400, "body must be JSON") from None

    def _call_read(self, m: re.Match[str], q: httpx.QueryParams, body: bytes) -> Any:
        target, function = f"{m[1]}.{m[2]}", m[3]
        request = self._read_json(body)
        try:
            args = [deserialize(str(h)) for h in request.get("arguments") or ()]
        except ClarityError as exc:
            raise HttpError(400, f"bad argument: {exc}") from None
        if target == self.chain.network.sbtc_token and function == "get-balance" and len(args) == 1:
            holder = args[0]  # sbtc-token's own read-only: (ok balance)
            if isinstance(holder, StandardPrincipal | ContractPrincipal):
                held = self.chain.balance(str(holder).removeprefix("'"))
                return {"okay": True, "result": "0x" + Ok(UInt(held)).serialize().hex()}
        if target not in self.chain.contracts():
            return {"okay": False, "cause": f'Unchecked(NoSuchContract("{target}"))'}
        params = contract.READ_ONLY.get(function) if target == self.chain.contract_id else None
        if params is None:
            cause = f'Unchecked(NoSuchPublicFunction("{target}", "{function}"))'
            return {"okay": False, "cause": cause}
        if len(args) != len(params):
            return {"okay": False, "cause": f"expected {len(params)} arguments, got {len(args)}"}
        for (_, kind), value in zip(params, args, strict=True):
            if (problem := contract.type_mismatch(value, kind)) is not None:
                return {"okay": False, "cause": problem}
        value = contract.read_only(self.chain.state, function, args, self.chain.tip.height)
        return {"okay": True, "result": "0x" + value.serialize().hex()}

    def _map_entry(self, m: re.Match[str], q: httpx.QueryParams, body: bytes) -> Any:
        if f"{m[1]}.{m[2]}" != self.chain.contract_id:
            raise HttpError(404, "No contract found")
        try:
            key = deserialize(str(self._read_json(body)))
        except ClarityError as exc:
            raise HttpError(400, f"bad key: {exc}") from None
        value = self.chain.state.map_entry(m[3], key)
        if value is None:
            raise HttpError(404, "No such map")
        return {"data": "0x" + value.serialize().hex(), "proof": ""}

    def _data_var(self, m: re.Match[str], q: httpx.QueryParams, body: bytes) -> Any:
        if f"{m[1]}.{m[2]}" != self.chain.contract_id:
            raise HttpError(404, "No contract found")
        value = self.chain.state.data_var(m[3])
        if value is None:
            raise HttpError(404, "Data var not found")
        return {"data": "0x" + value.serialize().hex(), "proof": ""}

    def _fee_estimate(self, body: bytes) -> Any:
        request = self._read_json(body)
        payload_len = len(str(request.get("transaction_payload", "")).removeprefix("0x")) // 2
        size = max(int(request.get("estimated_len") or 0), payload_len, 180)
        return {
            "estimated_cost": {
                "write_length": 0,
                "write_count": 0,
                "read_length": 0,
                "read_count": 0,
                "runtime": 0,
            },
            "estimated_cost_scalar": 1,
            "estimations": [{"fee_rate": rate, "fee": size * rate} for rate in (1, 2, 4)],
            "cost_scalar_change_by_byte": 0.00476837158203125,
        }

    def _mempool_page(self, params: httpx.QueryParams) -> Any:
        limit = self._limit(params, "limit", 20, 50)
        offset = self._limit(params, "offset", 0, None)
        newest_first = [self.chain.txs[t] for t in reversed(self.chain.mempool)]
        page = newest_first[offset : offset + limit]
        results = [self._tx_json(r) for r in page]
        return {"limit": limit, "offset": offset, "total": len(newest_first), "results": results}

    def _tx(self, m: re.Match[str], q: httpx.QueryParams, body: bytes) -> Any:
        record = self.chain.txs.get(m[1].lower())
        if record is None:
            raise HttpError(404, f"could not find transaction by ID 0x{m[1].lower()}")
        offset = self._limit(q, "event_offset", 0, None)
        limit = self._limit(q, "event_limit", 20, 100)
        return self._tx_json(record, events=slice(offset, offset + limit))

    def _block(self, key: str) -> dict[str, Any]:
        return self._block_json(self._find_block(key))

    def _find_block(self, key: str) -> FakeBlock:
        if key == "latest":
            return self.chain.tip
        if key.isdigit():
            if int(key) >= len(self.chain.blocks):
                raise HttpError(404, "cannot find block by height")
            return self.chain.blocks[int(key)]
        block = self.chain.all_blocks.get("0x" + key.lower().removeprefix("0x"))
        if block is None:
            raise HttpError(404, "cannot find block by hash")
        return block

    def _block_txs(self, m: re.Match[str], q: httpx.QueryParams, body: bytes) -> Any:
        block = self._find_block(m[1])
        limit = self._limit(q, "limit", 20, 50)
        offset = self._limit(q, "offset", 0, None)
        # A transaction re-mined on another fork is listed by its new block only.
        mined = [r for r in (self.chain.txs[t] for t in block.txids) if r.block is block]
        results = [self._tx_json(r) for r in mined[offset : offset + limit]]
        return {"limit": limit, "offset": offset, "total": len(mined), "results": results}

    def _logs(self, m: re.Match[str], q: httpx.QueryParams, body: bytes) -> Any:
        contract_id = m[1]
        limit = self._limit(q, "limit", 20, 100)
        offset = self._limit(q, "offset", 0, None)
        entries: list[tuple[str, dict[str, Any]]] = []
        for block in reversed(self.chain.blocks):
            for txid in reversed(block.txids):
                record = self.chain.txs[txid]
                for index, event in reversed(list(enumerate(record.events))):
                    item = self._event_json(record, index, event)
                    if item["event_type"] != "smart_contract_log":
                        continue
                    if item["contract_log"]["contract_id"] != contract_id:
                        continue
                    cursor = f"{block.height}:{MICROBLOCK_SEQ_NONE}:{record.tx_index}:{index}"
                    entries.append((cursor, item))
        if (cursor := q.get("cursor")) is not None:
            offset = next((i for i, (c, _) in enumerate(entries) if c == cursor), -1)
            if offset < 0:
                raise HttpError(400, "invalid cursor")
        page = entries[offset : offset + limit]
        after = entries[offset + limit] if offset + limit < len(entries) else None
        return {
            "limit": limit,
            "offset": offset,
            "total": len(entries),
            "next_cursor": after[0] if after else None,
            "prev_cursor": entries[max(0, offset - limit)][0] if offset > 0 else None,
            "cursor": page[0][0] if page else None,
            "results": [item for _, item in page],
        }

    # --- JSON shapes (devnet/src/shapes.mjs) -------------------------------------------------

    def _block_json(self, block: FakeBlock) -> dict[str, Any]:
        return {
            "canonical": block.canonical,
            "height": block.height,
            "hash": block.hash,
            "block_time": block.time,
            "block_time_iso": _iso(block.time),
            "tenure_height": block.burn_block_height,
            "index_block_hash": block.index_block_hash,
            "parent_block_hash": block.parent_block_hash,
            "parent_index_block_hash": block.parent_index_block_hash,
            "burn_block_time": block.time,
            "burn_block_time_iso": _iso(block.time),
            "burn_block_hash": block.burn_block_hash,
            "burn_block_height": block.burn_block_height,
            "miner_txid": digest("miner", block.burn_block_height, self.chain.forks),
            "tx_count": len(block.txids),
            **_NO_COST,
        }

    def _event_json(self, record: FakeTx, index: int, event: ContractEvent) -> dict[str, Any]:
        base: dict[str, Any] = {"event_index": index, "tx_id": "0x" + record.txid}
        if isinstance(event, Print):
            log = {
                "contract_id": self.chain.contract_id,
                "topic": "print",
                "value": _cv(event.value),
            }
            return {**base, "event_type": "smart_contract_log", "contract_log": log}
        asset = {
            "asset_event_type": "transfer",
            "asset_id": self.chain.sbtc_asset_id,
            "sender": event.sender,
            "recipient": event.recipient,
            "amount": str(event.amount),
        }
        return {**base, "event_type": "fungible_token_asset", "asset": asset}

    def _tx_json(self, record: FakeTx, *, events: slice = slice(None)) -> dict[str, Any]:
        tx = record.tx
        base: dict[str, Any] = {
            "tx_id": "0x" + record.txid,
            "nonce": record.nonce,
            "fee_rate": str(record.fee),
            "sender_address": record.sender,
            "sponsored": False,
            "post_condition_mode": _PC_MODE[tx.post_condition_mode],
            "post_conditions": [_post_condition_json(pc) for pc in tx.post_conditions],
            "anchor_mode": _ANCHOR[tx.anchor_mode],
            **self._payload_json(record.payload),
        }
        block = record.block
        if block is None:
            return {
                **base,
                "tx_status": record.status,
                "replaced_by_tx_id": "0x" + record.replaced_by if record.replaced_by else None,
                "receipt_time": record.receipt_time,
                "receipt_time_iso": _iso(record.receipt_time),
            }
        parent = self.chain.all_blocks.get(block.parent_block_hash)
        listed = [self._event_json(record, i, e) for i, e in enumerate(record.events)]
        assert record.result is not None
        return {
            **base,
            "block_hash": block.hash,
            "block_height": block.height,
            "block_time": block.time,
            "block_time_iso": _iso(block.time),
            "burn_block_time": block.time,
            "burn_block_height": block.burn_block_height,
            "burn_block_time_iso": _iso(block.time),
            "parent_burn_block_time": parent.time if parent else block.time,
            "parent_burn_block_time_iso": _iso(parent.time if parent else block.time),
            "canonical": block.canonical,
            "tx_index": record.tx_index,
            "tx_status": record.status,
            "tx_result": _cv(record.result),
            "event_count": len(listed),
            "parent_block_hash": block.parent_block_hash,
            "is_unanchored": False,
            "microblock_hash": "0x",
            "microblock_sequence": MICROBLOCK_SEQ_NONE,
            "microblock_canonical": True,
            **_NO_COST,
            "vm_error": record.vm_error,
            "events": listed[events],
        }

    def _payload_json(self, payload: ContractCallPayload) -> dict[str, Any]:
        params = contract.PUBLIC.get(payload.function_name, ())
        signature = contract.signature_of(payload.function_name, params, "define-public")
        args = []
        for i, value in enumerate(payload.args):
            name, kind = params[i] if i < len(params) else ("", "")
            args.append({**_cv(value), "name": name, "type": kind})
        return {
            "tx_type": "contract_call",
            "contract_call": {
                "contract_id": payload.contract_id,
                "function_name": payload.function_name,
                "function_signature": signature if params else "",
                "function_args": args,
            },
        }


def _principal_json(condition: PostCondition, text: str) -> dict[str, str]:
    if isinstance(condition.principal, OriginPrincipal):
        return {"type_id": "principal_origin"}
    address, _, name = text.partition(".")
    if name:
        return {"type_id": "principal_contract", "address": address, "contract_name": name}
    return {"type_id": "principal_standard", "address": address}


def _post_condition_json(condition: PostCondition) -> dict[str, Any]:
    who = _principal_json(condition, str(condition.principal))
    if isinstance(condition, StxPostCondition):
        code = _FT_CODE[condition.condition]
        return {
            "principal": who,
            "condition_code": code,
            "amount": str(condition.amount),
            "type": "stx",
        }
    asset_address, _, rest = str(condition.asset).partition(".")
    contract_name, _, asset_name = rest.partition("::")
    asset = {
        "asset_name": asset_name,
        "contract_address": asset_address,
        "contract_name": contract_name,
    }
    if isinstance(condition, FungiblePostCondition):
        code = _FT_CODE[condition.condition]
        amount = str(condition.amount)
        return {
            "principal": who,
            "condition_code": code,
            "amount": amount,
            "type": "fungible",
            "asset": asset,
        }
    sent = "sent" if condition.condition == NonFungibleConditionCode.SENT else "not_sent"
    return {
        "principal": who,
        "condition_code": sent,
        "type": "non_fungible",
        "asset_value": _cv(condition.asset_value),
        "asset": asset,
    }
