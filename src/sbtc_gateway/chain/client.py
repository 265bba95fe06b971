"""Async client for the Stacks node RPC and the Hiro extended API (primer §4).

One instance per API base URL, created at start-up and injected where needed (no module
globals). It sends ``x-api-key`` when given one, applies a timeout to every request, retries
429/5xx and connection failures with exponential backoff (honouring ``retry-after``), and trips a
circuit breaker after repeated failures so an outage fails fast instead of piling up requests.

Errors keep "rejected" apart from "unknown": a broadcast the node refused raises
:class:`TransactionRejectedError`; a broadcast that may have reached the node (timeout, 5xx)
raises :class:`BroadcastOutcomeUnknownError` carrying the txid to follow — never a failure.
Pass ``transport=httpx.MockTransport(...)`` to test without a network, and ``sleep``/``clock`` to
test backoff and the breaker without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from .api_types import (
    AccountInfo,
    Balances,
    BlockInfo,
    ContractLogPage,
    FeeEstimate,
    NetworkInfo,
    NonceInfo,
    TransactionEvent,
    TransactionInfo,
    TransactionPage,
    normalize_txid,
)
from .clarity import ClarityValue, ContractPrincipal, deserialize
from .errors import (
    ApiRequestError,
    ApiUnavailableError,
    BroadcastOutcomeUnknownError,
    ClarityError,
    NotFoundError,
    ReadOnlyCallError,
    StacksApiError,
    TransactionRejectedError,
)
from .hashing import sha512_256
from .resilience import CircuitBreaker, RetryPolicy, Sleep, retry_after_seconds

log = logging.getLogger(__name__)


def _contract_path(contract_id: str) -> str:
    try:
        contract = ContractPrincipal.from_id(contract_id)
    except ClarityError as exc:
        raise ValueError(str(exc)) from None
    return f"{contract.address}/{contract.name}"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise StacksApiError(
            "the API answered with invalid JSON",
            status=response.status_code,
            path=response.request.url.path,
        ) from None


class StacksApiClient:
    """The node RPC (``/v2/…``) and Hiro extended API (``/extended/…``) at one base URL."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        user_agent: str = "sbtc-gateway-chain/0.1",
    ):
        headers = {"user-agent": user_agent, "accept": "application/json"}
        if api_key:
            headers["x-api-key"] = api_key
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - backoff jitter, not cryptography
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"StacksApiClient({self.base_url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> StacksApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- the request loop ----------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | httpx.QueryParams | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        broadcast_txid: str | None = None,
    ) -> httpx.Response:
        """Send with retries; returns a 2xx response or raises a mapped error.

        With ``broadcast_txid`` set, only failures that prove the node never processed the request
        (connection refused, 429, 503) are retried; anything ambiguous raises
        BroadcastOutcomeUnknownError.
        """
        retry = 0
        while True:
            self.breaker.before_call()
            retry_after: float | None = None
            status: int | None = None
            try:
                response = await self._http.request(
                    method, path, params=params, json=json_body, content=content, headers=headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                self.breaker.record_failure()
                failure = f"cannot reach the Stacks API: {type(exc).__name__}"
            except httpx.TransportError as exc:
                # The request may have been received (read timeout, dropped connection).
                self.breaker.record_failure()
                failure = f"no answer from the Stacks API: {type(exc).__name__}"
                if broadcast_txid is not None:
                    raise BroadcastOutcomeUnknownError(broadcast_txid, failure) from None
            except BaseException:
                self.breaker.abandon()
                raise
            else:
                status = response.status_code
                if status < 400:
                    self.breaker.record_success()
                    return response
                if status == 429:
                    # Rate limiting: the API is up and answering, just not to us right now.
                    self.breaker.record_success()
                    retry_after = retry_after_seconds(
                        response.headers.get("retry-after"), time.time()
                    )
                    failure = "rate limited by the Stacks API (429)"
                elif status >= 500:
                    self.breaker.record_failure()
                    failure = f"Stacks API error {status}"
                    if broadcast_txid is not None and status != 503:
                        raise BroadcastOutcomeUnknownError(broadcast_txid, failure, status=status)
                    retry_after = retry_after_seconds(
                        response.headers.get("retry-after"), time.time()
                    )
                else:
                    self.breaker.record_success()
                    raise self._client_error(response, path, broadcast_txid)
            retry += 1
            delay = self.retry.delay(retry, retry_after, self._rng)
            if delay is None:
                if broadcast_txid is not None:
                    # Every attempt was provably unprocessed, so nothing reached the mempool.
                    failure = f"broadcast not sent: {failure}"
                raise ApiUnavailableError(failure, status=status, path=path)
            log.info("stacks api retry", extra={"path": path, "retry": retry, "delay": delay})
            await self._sleep(delay)

    def _client_error(
        self, response: httpx.Response, path: str, broadcast_txid: str | None
    ) -> StacksApiError:
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if status == 404:
            return NotFoundError(f"not found: {path}", status=404, path=path)
        if broadcast_txid is not None and status == 400:
            # The node looked at the transaction and refused it (its answer is JSON; a proxy's
            # plain-text 400 is taken as the same verdict).
            fields = body if isinstance(body, Mapping) else {"reason": str(body).strip()[:200]}
            reason = str(fields.get("reason") or fields.get("error") or "unknown")
            data = fields.get("reason_data")
            return TransactionRejectedError(
                reason,
                txid=str(fields.get("txid") or broadcast_txid),
                reason_data=data if isinstance(data, Mapping) else None,
                status=status,
                path=path,
            )
        return ApiRequestError(
            f"Stacks API refused {path}: {status}", status=status, path=path, body=body
        )

    async def _get_json(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        return _json(await self._request("GET", path, params=params))

    async def _post_json(
        self, path: str, body: Any, params: Mapping[str, str | int] | None = None
    ) -> Any:
        return _json(await self._request("POST", path, json_body=body, params=params))

    # --- node RPC ------------------------------------------------------------------------------

    async def get_info(self) -> NetworkInfo:
        return NetworkInfo.from_json(await self._get_json("/v2/info"))

    async def get_account(self, principal: str) -> AccountInfo:
        data = await self._get_json(f"/v2/accounts/{quote(principal)}", {"proof": 0})
        return AccountInfo.from_json(data)

    async def broadcast(self, raw_tx: bytes) -> str:
        """Broadcast a signed transaction; returns its txid (hex, no ``0x``).

        Raises TransactionRejectedError (definite), BroadcastOutcomeUnknownError (follow the
        txid) or ApiUnavailableError (nothing was sent).
        """
        txid = sha512_256(raw_tx).hex()
        response = await self._request(
            "POST",
            "/v2/transactions",
            content=raw_tx,
            headers={"content-type": "application/octet-stream"},
            broadcast_txid=txid,
        )
        try:
            answer = response.json()
        except ValueError:
            answer = response.text.strip().strip('"')
        if isinstance(answer, str):
            try:
                if normalize_txid(answer) != txid:
                    log.warning("node returned a different txid", extra={"txid": txid})
            except ValueError:
                pass
        return txid

    async def call_read_only(
        self,
        contract_id: str,
        function_name: str,
        args: Sequence[ClarityValue] = (),
        *,
        sender: str | None = None,
    ) -> ClarityValue:
        """Run a read-only function; returns its result or raises ReadOnlyCallError."""
        path = f"/v2/contracts/call-read/{_contract_path(contract_id)}/{quote(function_name)}"
        body = {
            "sender": sender or contract_id.split(".")[0],
            "arguments": [arg.to_hex() for arg in args],
        }
        data = await self._post_json(path, body)
        if not isinstance(data, Mapping) or not data.get("okay"):
            cause = data.get("cause") if isinstance(data, Mapping) else None
            raise ReadOnlyCallError(str(cause or "unknown"), path=path)
        return self._value(data.get("result"), path)

    async def get_map_entry(
        self, contract_id: str, map_name: str, key: ClarityValue
    ) -> ClarityValue:
        """The map entry as the VM returns it: ``(some value)`` or ``none``."""
        path = f"/v2/map_entry/{_contract_path(contract_id)}/{quote(map_name)}"
        data = await self._post_json(path, key.to_hex(), {"proof": 0})
        return self._value(data.get("data") if isinstance(data, Mapping) else None, path)

    async def get_data_var(self, contract_id: str, var_name: str) -> ClarityValue:
        path = f"/v2/data_var/{_contract_path(contract_id)}/{quote(var_name)}"
        data = await self._get_json(path, {"proof": 0})
        return self._value(data.get("data") if isinstance(data, Mapping) else None, path)

    async def get_contract_source(self, contract_id: str) -> str:
        path = f"/v2/contracts/source/{_contract_path(contract_id)}"
        data = await self._get_json(path, {"proof": 0})
        return str(data.get("source", "")) if isinstance(data, Mapping) else ""

    async def get_contract_interface(self, contract_id: str) -> Mapping[str, Any]:
        """The contract's ABI (functions, variables, maps, fungible/non-fungible tokens) as JSON."""
        path = f"/v2/contracts/interface/{_contract_path(contract_id)}"
        data = await self._get_json(path)
        if not isinstance(data, Mapping):
            raise StacksApiError("unexpected contract interface answer", path=path)
        return data

    async def get_transfer_fee_rate(self) -> int:
        """Micro-STX per byte (``GET /v2/fees/transfer``)."""
        data = await self._get_json("/v2/fees/transfer")
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        raise StacksApiError("unexpected fee rate answer", path="/v2/fees/transfer")

    async def estimate_fee(self, payload: bytes, estimated_len: int | None = None) -> FeeEstimate:
        """``POST /v2/fees/transaction`` for a serialized payload (raises ApiRequestError 400
        with reason ``NoEstimateAvailable`` when the node has no estimate)."""
        body: dict[str, Any] = {"transaction_payload": "0x" + payload.hex()}
        if estimated_len is not None:
            body["estimated_len"] = estimated_len
        return FeeEstimate.from_json(await self._post_json("/v2/fees/transaction", body))

    @staticmethod
    def _value(hex_value: Any, path: str) -> ClarityValue:
        if not isinstance(hex_value, str):
            raise StacksApiError("answer carries no Clarity value", path=path)
        try:
            return deserialize(hex_value)
        except ClarityError as exc:
            raise StacksApiError(f"answer carries a bad Clarity value: {exc}", path=path) from None

    # --- Hiro extended API ---------------------------------------------------------------------

    async def get_mempool_fees(self) -> dict[str, FeeEstimate]:
        """Hiro's mempool fee priorities per transaction type (``all``, ``contract_call``, …)."""
        data = await self._get_json("/extended/v2/mempool/fees")
        fees: dict[str, FeeEstimate] = {}
        for kind, entry in data.items() if isinstance(data, Mapping) else ():
            if isinstance(entry, Mapping):
                fees[str(kind)] = FeeEstimate.from_priorities(entry)
        return fees

    async def get_events(
        self,
        *,
        tx_id: str | None = None,
        address: str | None = None,
        types: Sequence[str] = (),
        limit: int = 100,
        offset: int = 0,
    ) -> list[TransactionEvent]:
        """``/extended/v1/tx/events`` for a transaction or an address (limit at most 100)."""
        if (tx_id is None) == (address is None):
            raise ValueError("give exactly one of tx_id or address")
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("limit", limit),
            ("offset", offset),
        ]
        if tx_id is not None:
            params.append(("tx_id", "0x" + normalize_txid(tx_id)))
        if address is not None:
            params.append(("address", address))
        params.extend(("type", t) for t in types)
        response = await self._request(
            "GET", "/extended/v1/tx/events", params=httpx.QueryParams(params)
        )
        data = _json(response)
        rows = data.get("events") if isinstance(data, Mapping) else None
        return [TransactionEvent.from_json(e, tx_id) for e in rows or ()]

    async def get_nonces(self, principal: str) -> NonceInfo:
        data = await self._get_json(f"/extended/v1/address/{quote(principal)}/nonces")
        return NonceInfo.from_json(data)

    async def get_balances(self, principal: str) -> Balances:
        """STX and fungible-token balances (sBTC is ``network.sbtc_asset_id``)."""
        data = await self._get_json(f"/extended/v1/address/{quote(principal)}/balances")
        return Balances.from_json(data)

    async def get_address_transactions(
        self, principal: str, *, limit: int = 50, offset: int = 0
    ) -> TransactionPage:
        """Mined transactions sent by or to ``principal``, newest first (limit at most 50)."""
        data = await self._get_json(
            f"/extended/v1/address/{quote(principal)}/transactions",
            {"limit": limit, "offset": offset},
        )
        return TransactionPage(
            transactions=tuple(TransactionInfo.from_json(t) for t in data.get("results") or ()),
            total=data.get("total"),
            limit=int(data.get("limit", limit)),
            offset=int(data.get("offset", offset)),
        )

    async def get_transaction(
        self, txid: str, *, event_offset: int = 0, event_limit: int = 50
    ) -> TransactionInfo:
        """``GET /extended/v1/tx/{txid}``; raises NotFoundError for an unknown txid."""
        path = f"/extended/v1/tx/0x{normalize_txid(txid)}"
        params = {"event_offset": event_offset, "event_limit": event_limit}
        return TransactionInfo.from_json(await self._get_json(path, params))

    async def get_transaction_events(
        self, txid: str, *, page_size: int = 50
    ) -> list[TransactionEvent]:
        """Every event of a transaction, following the API's event paging."""
        events: list[TransactionEvent] = []
        while True:
            info = await self.get_transaction(txid, event_offset=len(events), event_limit=page_size)
            events.extend(info.events)
            if len(info.events) < page_size or len(events) >= info.event_count:
                return events

    async def get_contract_logs(
        self, contract_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> ContractLogPage:
        """One page of a contract's print events, newest first.

        Uses ``/extended/v2/smart-contracts/{id}/logs`` (cursor paging) and falls back to
        ``/extended/v1/contract/{id}/events`` (offset paging; its cursor is the offset) on 404.
        """
        _contract_path(contract_id)  # validates before it goes into a URL
        params: dict[str, str | int] = {"limit": limit}
        try:
            if cursor is not None and not cursor.startswith("offset:"):
                params["cursor"] = cursor
            if cursor is None or not cursor.startswith("offset:"):
                data = await self._get_json(
                    f"/extended/v2/smart-contracts/{contract_id}/logs", params
                )
                results = data.get("results") or []
                next_cursor = data.get("next_cursor")
                return ContractLogPage(
                    events=tuple(TransactionEvent.from_json(e) for e in results),
                    next_cursor=str(next_cursor) if next_cursor else None,
                    total=data.get("total"),
                )
        except NotFoundError:
            pass
        offset = int(cursor.removeprefix("offset:")) if cursor else 0
        data = await self._get_json(
            f"/extended/v1/contract/{contract_id}/events", {"limit": limit, "offset": offset}
        )
        results = data.get("results") or []
        more = len(results) == limit
        return ContractLogPage(
            events=tuple(TransactionEvent.from_json(e) for e in results),
            next_cursor=f"offset:{offset + len(results)}" if more else None,
            total=data.get("total"),
        )

    async def get_block(self, height_or_hash: int | str = "latest") -> BlockInfo:
        return BlockInfo.from_json(await self._get_json(f"/extended/v2/blocks/{height_or_hash}"))

    async def get_block_transactions(
        self, height_or_hash: int | str, *, limit: int = 50
    ) -> list[TransactionInfo]:
        """Every transaction of one block, in block order (``/extended/v2/blocks/{h}/transactions``,
        following its offset paging)."""
        txs: list[TransactionInfo] = []
        while True:
            data = await self._get_json(
                f"/extended/v2/blocks/{height_or_hash}/transactions",
                {"limit": limit, "offset": len(txs)},
            )
            page = [TransactionInfo.from_json(t) for t in data.get("results") or ()]
            txs.extend(page)
            total = _int_or_none(data.get("total"))
            if not page or len(page) < limit or (total is not None and len(txs) >= total):
                return txs

    async def get_mempool_transactions(self, *, limit: int = 50) -> list[TransactionInfo]:
        """Pending transactions (``/extended/v1/tx/mempool``), up to ``limit``."""
        data = await self._get_json("/extended/v1/tx/mempool", {"limit": limit})
        return [TransactionInfo.from_json(t) for t in data.get("results") or ()]


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
