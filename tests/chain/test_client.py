"""StacksApiClient against httpx.MockTransport: shapes, retries, the breaker, error mapping."""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sbtc_gateway.chain.api_types import FeeEstimate, TxStatus, normalize_txid
from sbtc_gateway.chain.clarity import NONE, TRUE, Ok, Some, StringAscii, Tuple, UInt
from sbtc_gateway.chain.client import StacksApiClient
from sbtc_gateway.chain.errors import (
    ApiRequestError,
    ApiUnavailableError,
    BroadcastOutcomeUnknownError,
    CircuitOpenError,
    NotFoundError,
    ReadOnlyCallError,
    StacksApiError,
    TransactionRejectedError,
)
from sbtc_gateway.chain.resilience import CircuitBreaker, RetryPolicy
from sbtc_gateway.chain.transactions import deserialize_transaction
from tests.chain.chain_vectors import GATEWAY, RECIPIENT, SBTC_TESTNET, VEC1, VEC1_TXID

BASE = "http://127.0.0.1:3999"
Handler = Callable[[httpx.Request], httpx.Response]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """Wraps a handler, keeping every request; its sleep records delays without waiting."""

    def __init__(self, handler: Handler):
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def make_client(
    handler: Handler,
    *,
    api_key: str | None = None,
    retry: RetryPolicy | None = None,
    breaker: CircuitBreaker | None = None,
) -> tuple[StacksApiClient, Recorder]:
    recorder = Recorder(handler)
    client = StacksApiClient(
        BASE,
        api_key=api_key,
        retry=retry or RetryPolicy(attempts=4, base_delay=0.5, max_delay=8.0, jitter=0.0),
        breaker=breaker,
        transport=httpx.MockTransport(recorder),
        sleep=recorder.sleep,
        rng=random.Random(0),
    )
    return client, recorder


def sequence(*responses: httpx.Response | Exception) -> Handler:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


INFO = {
    "peer_version": 402653196,
    "burn_block_height": 120,
    "stacks_tip_height": 345,
    "stacks_tip": "ab" * 32,
    "network_id": 2147483648,
    "server_version": "stacks-node 3.1",
    "tenure_height": 60,
}


async def test_get_info_sends_api_key_and_parses() -> None:
    client, rec = make_client(lambda r: httpx.Response(200, json=INFO), api_key="k-123")
    info = await client.get_info()
    assert (info.network_id, info.stacks_tip_height, info.burn_block_height) == (
        2147483648,
        345,
        120,
    )
    assert info.tenure_height == 60
    assert rec.requests[0].headers["x-api-key"] == "k-123"
    assert rec.requests[0].url.path == "/v2/info"
    assert "k-123" not in repr(client)
    await client.aclose()


async def test_no_api_key_header_without_a_key() -> None:
    client, rec = make_client(lambda r: httpx.Response(200, json=INFO))
    await client.get_info()
    assert "x-api-key" not in rec.requests[0].headers
    await client.aclose()


async def test_timeout_is_applied() -> None:
    client = StacksApiClient(BASE, timeout=3.5, transport=httpx.MockTransport(lambda r: None))  # type: ignore[arg-type,return-value]
    assert client._http.timeout == httpx.Timeout(3.5)
    await client.aclose()


async def test_429_honours_retry_after_seconds() -> None:
    client, rec = make_client(
        sequence(httpx.Response(429, headers={"retry-after": "2"}), httpx.Response(200, json=INFO))
    )
    await client.get_info()
    assert rec.sleeps == [2.0]
    assert len(rec.requests) == 2
    await client.aclose()


async def test_429_retry_after_http_date() -> None:
    when = email.utils.formatdate(time.time() + 3600, usegmt=True)
    client, rec = make_client(
        sequence(httpx.Response(429, headers={"retry-after": when}), httpx.Response(200, json=INFO))
    )
    # An hour is beyond max_retry_after: give up at once rather than hold the request.
    with pytest.raises(ApiUnavailableError, match="429"):
        await client.get_info()
    assert rec.sleeps == []
    await client.aclose()


async def test_5xx_backs_off_exponentially_then_succeeds() -> None:
    client, rec = make_client(
        sequence(
            httpx.Response(502),
            httpx.Response(503),
            httpx.Response(500),
            httpx.Response(200, json=INFO),
        )
    )
    await client.get_info()
    assert rec.sleeps == [0.5, 1.0, 2.0]
    await client.aclose()


async def test_retries_exhausted_is_unavailable_not_failure() -> None:
    client, rec = make_client(lambda r: httpx.Response(500))
    with pytest.raises(ApiUnavailableError) as info:
        await client.get_info()
    assert len(rec.requests) == 4
    assert info.value.path == "/v2/info"
    await client.aclose()


async def test_jitter_stays_within_bounds() -> None:
    policy = RetryPolicy(attempts=10, base_delay=1.0, max_delay=4.0, jitter=0.2)
    rng = random.Random(1)
    for retry in range(1, 10):
        delay = policy.delay(retry, None, rng)
        assert delay is not None
        base = min(4.0, 2.0 ** (retry - 1))
        assert 0.8 * base <= delay <= 1.2 * base
    assert policy.delay(10, None, rng) is None


async def test_connection_errors_are_retried() -> None:
    client, rec = make_client(
        sequence(httpx.ConnectError("refused"), httpx.Response(200, json=INFO))
    )
    await client.get_info()
    assert len(rec.requests) == 2
    await client.aclose()


async def test_circuit_breaker_opens_fails_fast_and_recovers() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=30.0, clock=clock)
    healthy = {"ok": False}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=INFO) if healthy["ok"] else httpx.Response(503)

    client, rec = make_client(handler, retry=RetryPolicy(attempts=1), breaker=breaker)
    for _ in range(3):
        with pytest.raises(ApiUnavailableError):
            await client.get_info()
    assert breaker.state == "open"
    sent = len(rec.requests)
    with pytest.raises(CircuitOpenError):
        await client.get_info()
    assert len(rec.requests) == sent  # failed fast, nothing sent
    clock.now += 30
    assert breaker.state == "half-open"
    # A failing trial re-opens the circuit.
    with pytest.raises(ApiUnavailableError):
        await client.get_info()
    assert breaker.state == "open"
    clock.now += 30
    healthy["ok"] = True
    await client.get_info()
    assert breaker.state == "closed"
    await client.aclose()


async def test_half_open_lets_one_trial_through() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5.0, clock=clock)
    breaker.record_failure()
    clock.now += 5
    breaker.before_call()  # the trial
    with pytest.raises(CircuitOpenError):
        breaker.before_call()
    breaker.record_success()
    breaker.before_call()


async def test_4xx_are_not_retried_and_do_not_trip_the_breaker() -> None:
    breaker = CircuitBreaker(failure_threshold=1)
    client, rec = make_client(lambda r: httpx.Response(400, json={"error": "bad"}), breaker=breaker)
    with pytest.raises(ApiRequestError) as info:
        await client.get_info()
    assert info.value.status == 400
    assert info.value.body == {"error": "bad"}
    assert len(rec.requests) == 1
    assert breaker.state == "closed"
    await client.aclose()


async def test_404_is_not_found() -> None:
    client, _ = make_client(lambda r: httpx.Response(404, json={"error": "not found"}))
    with pytest.raises(NotFoundError):
        await client.get_transaction(VEC1_TXID)
    await client.aclose()


async def test_invalid_json_is_an_api_error() -> None:
    client, _ = make_client(lambda r: httpx.Response(200, text="<html>"))
    with pytest.raises(StacksApiError, match="invalid JSON"):
        await client.get_info()
    await client.aclose()


# --- broadcast ---------------------------------------------------------------------------------

RAW = bytes.fromhex(VEC1)


async def test_broadcast_sends_raw_bytes_and_returns_the_txid() -> None:
    client, rec = make_client(lambda r: httpx.Response(200, json=VEC1_TXID))
    assert await client.broadcast(RAW) == VEC1_TXID
    request = rec.requests[0]
    assert request.method == "POST"
    assert request.url.path == "/v2/transactions"
    assert request.headers["content-type"] == "application/octet-stream"
    assert request.content == RAW
    await client.aclose()


async def test_broadcast_rejection_is_definite() -> None:
    body = {
        "error": "transaction rejected",
        "reason": "BadNonce",
        "reason_data": {"expected": 9, "actual": 7},
        "txid": VEC1_TXID,
    }
    client, rec = make_client(lambda r: httpx.Response(400, json=body))
    with pytest.raises(TransactionRejectedError) as info:
        await client.broadcast(RAW)
    assert info.value.reason == "BadNonce"
    assert info.value.is_bad_nonce
    assert info.value.reason_data == {"expected": 9, "actual": 7}
    assert info.value.txid == VEC1_TXID
    assert len(rec.requests) == 1
    await client.aclose()


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped"), httpx.Response(500)],
)
async def test_broadcast_ambiguous_failure_is_unknown_not_failed(
    failure: httpx.Response | Exception,
) -> None:
    client, rec = make_client(sequence(failure))
    with pytest.raises(BroadcastOutcomeUnknownError) as info:
        await client.broadcast(RAW)
    assert info.value.txid == VEC1_TXID
    assert len(rec.requests) == 1  # never re-sent blindly
    await client.aclose()


async def test_broadcast_retries_only_what_was_provably_not_processed() -> None:
    client, rec = make_client(
        sequence(
            httpx.ConnectError("refused"),
            httpx.Response(429, headers={"retry-after": "1"}),
            httpx.Response(503),
            httpx.Response(200, json=VEC1_TXID),
        )
    )
    assert await client.broadcast(RAW) == VEC1_TXID
    assert len(rec.requests) == 4
    await client.aclose()


async def test_broadcast_never_sent_is_unavailable() -> None:
    client, _ = make_client(sequence(httpx.ConnectError("refused")))
    with pytest.raises(ApiUnavailableError, match="not sent"):
        await client.broadcast(RAW)
    await client.aclose()


# --- contract reads ----------------------------------------------------------------------------


async def test_call_read_only() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert request.url.path == (
            "/v2/contracts/call-read/ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM/payment-gateway/get-x"
        )
        assert body == {
            "sender": RECIPIENT,
            "arguments": ["0x01000000000000000000000000000061a8", "0x0d00000008696e762d30303031"],
        }
        return httpx.Response(
            200, json={"okay": True, "result": "0x0a0100000000000000000000000000000001"}
        )

    client, _ = make_client(handler)
    result = await client.call_read_only(
        GATEWAY, "get-x", [UInt(25000), StringAscii("inv-0001")], sender=RECIPIENT
    )
    assert result == Some(UInt(1))
    await client.aclose()


async def test_call_read_only_failure() -> None:
    client, _ = make_client(
        lambda r: httpx.Response(200, json={"okay": False, "cause": "Unchecked(NoSuchFunction)"})
    )
    with pytest.raises(ReadOnlyCallError) as info:
        await client.call_read_only(GATEWAY, "nope")
    assert info.value.cause == "Unchecked(NoSuchFunction)"
    await client.aclose()


async def test_map_entry_and_data_var() -> None:
    key = Tuple({"id": StringAscii("pi_1")})

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/v2/map_entry/"):
            assert request.url.path.endswith("/payment-gateway/payment-intents")
            assert json.loads(request.content) == key.to_hex()
            return httpx.Response(200, json={"data": "0x09", "proof": ""})
        assert request.url.path.endswith("/payment-gateway/fee-bps")
        assert request.url.params["proof"] == "0"
        return httpx.Response(200, json={"data": UInt(250).to_hex()})

    client, _ = make_client(handler)
    assert await client.get_map_entry(GATEWAY, "payment-intents", key) == NONE
    assert await client.get_data_var(GATEWAY, "fee-bps") == UInt(250)
    await client.aclose()


async def test_bad_clarity_in_answer_is_an_api_error() -> None:
    client, _ = make_client(lambda r: httpx.Response(200, json={"data": "0xff"}))
    with pytest.raises(StacksApiError, match="bad Clarity value"):
        await client.get_data_var(GATEWAY, "x")
    await client.aclose()


async def test_contract_id_is_validated_before_sending() -> None:
    client, rec = make_client(lambda r: httpx.Response(200, json={}))
    with pytest.raises(ValueError, match=r"ADDRESS\.NAME"):
        await client.get_data_var(RECIPIENT, "x")
    assert rec.requests == []
    await client.aclose()


async def test_contract_source() -> None:
    client, _ = make_client(lambda r: httpx.Response(200, json={"source": "(ok u1)"}))
    assert await client.get_contract_source(GATEWAY) == "(ok u1)"
    await client.aclose()


# --- accounts and fees -------------------------------------------------------------------------


async def test_account_balances_are_integers() -> None:
    body = {
        "balance": "0x0000000000000000000000000000f4240",
        "locked": "0x00000000000000000000000000000000",
        "unlock_height": 0,
        "nonce": 12,
    }
    client, rec = make_client(lambda r: httpx.Response(200, json=body))
    account = await client.get_account(RECIPIENT)
    assert (account.balance, account.locked, account.nonce) == (1_000_000, 0, 12)
    assert rec.requests[0].url.path == f"/v2/accounts/{RECIPIENT}"
    await client.aclose()


async def test_nonces() -> None:
    body = {
        "last_mempool_tx_nonce": 5,
        "last_executed_tx_nonce": 4,
        "possible_next_nonce": 6,
        "detected_missing_nonces": [],
        "detected_mempool_nonces": [5],
    }
    client, _ = make_client(lambda r: httpx.Response(200, json=body))
    nonces = await client.get_nonces(RECIPIENT)
    assert nonces.possible_next_nonce == 6
    assert nonces.last_executed_tx_nonce == 4
    await client.aclose()


async def test_fee_endpoints() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/fees/transfer":
            return httpx.Response(200, json=1)
        body = json.loads(request.content)
        assert body["transaction_payload"].startswith("0x02")
        assert body["estimated_len"] == 300
        return httpx.Response(
            200,
            json={
                "estimated_cost_scalar": 14,
                "cost_scalar_change_by_byte": 0.0026,
                "estimations": [
                    {"fee_rate": 156.5, "fee": 3000},
                    {"fee_rate": 100.1, "fee": 1000},
                    {"fee_rate": 200.2, "fee": 5000.4},
                ],
            },
        )

    client, _ = make_client(handler)
    assert await client.get_transfer_fee_rate() == 1
    payload = deserialize_transaction(VEC1).payload.serialize()
    assert await client.estimate_fee(payload, 300) == FeeEstimate(1000, 3000, 5001)
    await client.aclose()


async def test_fee_estimate_unavailable() -> None:
    client, _ = make_client(
        lambda r: httpx.Response(
            400,
            json={"error": "Estimation could not be performed", "reason": "NoEstimateAvailable"},
        )
    )
    with pytest.raises(ApiRequestError) as info:
        await client.estimate_fee(b"\x00")
    assert info.value.status == 400
    await client.aclose()


# --- transactions, events, blocks --------------------------------------------------------------

TX_JSON: dict[str, Any] = {
    "tx_id": "0x" + VEC1_TXID,
    "tx_status": "success",
    "tx_type": "contract_call",
    "nonce": 7,
    "fee_rate": "3000",
    "sender_address": "ST2ZD731ANQZT6J4K3F5N8A40ZXWXC1XFXH4HF6PF",
    "post_condition_mode": "deny",
    "canonical": True,
    "block_hash": "0x" + "cd" * 32,
    "block_height": 346,
    "burn_block_height": 121,
    "tx_result": {"hex": "0x0703", "repr": "(ok true)"},
    "event_count": 2,
    "events": [
        {
            "event_index": 0,
            "event_type": "fungible_token_asset",
            "tx_id": "0x" + VEC1_TXID,
            "asset": {
                "asset_event_type": "transfer",
                "asset_id": SBTC_TESTNET + "::sbtc-token",
                "sender": "ST2ZD731ANQZT6J4K3F5N8A40ZXWXC1XFXH4HF6PF",
                "recipient": RECIPIENT,
                "amount": "25000",
            },
        },
        {
            "event_index": 1,
            "event_type": "smart_contract_log",
            "tx_id": "0x" + VEC1_TXID,
            "contract_log": {
                "contract_id": GATEWAY,
                "topic": "print",
                "value": {
                    "hex": Tuple({"id": StringAscii("abc")}).to_hex(),
                    "repr": '(tuple (id "abc"))',
                },
            },
        },
    ],
}


async def test_get_transaction_parses_the_hiro_shape() -> None:
    client, rec = make_client(lambda r: httpx.Response(200, json=TX_JSON))
    info = await client.get_transaction("0x" + VEC1_TXID.upper())
    assert rec.requests[0].url.path == f"/extended/v1/tx/0x{VEC1_TXID}"
    assert info.tx_id == VEC1_TXID
    assert info.status is TxStatus.SUCCESS
    assert info.status.is_final
    assert info.status.is_mined
    assert (info.nonce, info.fee, info.block_height, info.canonical) == (7, 3000, 346, True)
    assert info.tx_result == Ok(TRUE)
    assert info.tx_result_repr == "(ok true)"
    ft, printed = info.events
    assert (ft.event_type, ft.asset_id, ft.amount, ft.recipient) == (
        "fungible_token_asset",
        SBTC_TESTNET + "::sbtc-token",
        25000,
        RECIPIENT,
    )
    assert printed.value == Tuple({"id": StringAscii("abc")})
    assert (printed.contract_id, printed.topic) == (GATEWAY, "print")
    await client.aclose()


@pytest.mark.parametrize(
    ("status", "final", "mined", "dropped"),
    [
        ("pending", False, False, False),
        ("success", True, True, False),
        ("abort_by_response", True, True, False),
        ("abort_by_post_condition", True, True, False),
        ("dropped_replace_by_fee", True, False, True),
        ("dropped_stale_garbage_collect", True, False, True),
        ("something_new", False, False, False),
    ],
)
def test_tx_status_classification(status: str, final: bool, mined: bool, dropped: bool) -> None:
    parsed = TxStatus.parse(status)
    assert (parsed.is_final, parsed.is_mined, parsed.is_dropped) == (final, mined, dropped)


async def test_transaction_events_follow_paging() -> None:
    events = [
        {
            "event_index": i,
            "event_type": "smart_contract_log",
            "tx_id": "0x" + VEC1_TXID,
            "contract_log": {
                "contract_id": GATEWAY,
                "topic": "print",
                "value": {"hex": UInt(i).to_hex(), "repr": f"u{i}"},
            },
        }
        for i in range(5)
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params["event_offset"])
        limit = int(request.url.params["event_limit"])
        return httpx.Response(
            200, json={**TX_JSON, "event_count": 5, "events": events[offset : offset + limit]}
        )

    client, rec = make_client(handler)
    got = await client.get_transaction_events(VEC1_TXID, page_size=2)
    assert [e.value for e in got] == [UInt(i) for i in range(5)]
    assert len(rec.requests) == 3
    await client.aclose()


def _log(tx: int, index: int) -> dict[str, Any]:
    return {
        "event_index": index,
        "event_type": "smart_contract_log",
        "tx_id": "0x" + f"{tx:064x}",
        "contract_log": {
            "contract_id": GATEWAY,
            "topic": "print",
            "value": {"hex": UInt(tx).to_hex(), "repr": f"u{tx}"},
        },
    }


async def test_contract_logs_v2_cursor() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/extended/v2/smart-contracts/{GATEWAY}/logs"
        if "cursor" in request.url.params:
            assert request.url.params["cursor"] == "c2"
            return httpx.Response(200, json={"results": [_log(1, 0)], "next_cursor": None})
        return httpx.Response(200, json={"results": [_log(2, 0)], "next_cursor": "c2", "total": 2})

    client, _ = make_client(handler)
    first = await client.get_contract_logs(GATEWAY)
    assert first.next_cursor == "c2"
    assert first.total == 2
    second = await client.get_contract_logs(GATEWAY, cursor=first.next_cursor)
    assert second.next_cursor is None
    assert [e.value for e in first.events + second.events] == [UInt(2), UInt(1)]
    await client.aclose()


async def test_contract_logs_fall_back_to_v1_offsets() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/extended/v2/"):
            return httpx.Response(404, json={"error": "not found"})
        assert request.url.path == f"/extended/v1/contract/{GATEWAY}/events"
        offset = int(request.url.params["offset"])
        rows = [_log(3, 0), _log(2, 0), _log(1, 0)][offset : offset + 2]
        return httpx.Response(200, json={"limit": 2, "offset": offset, "results": rows})

    client, _ = make_client(handler)
    page = await client.get_contract_logs(GATEWAY, limit=2)
    assert page.next_cursor == "offset:2"
    rest = await client.get_contract_logs(GATEWAY, cursor=page.next_cursor, limit=2)
    assert rest.next_cursor is None
    assert [e.value for e in page.events + rest.events] == [UInt(3), UInt(2), UInt(1)]
    await client.aclose()


async def test_get_block() -> None:
    body = {
        "canonical": True,
        "height": 346,
        "hash": "0x" + "cd" * 32,
        "index_block_hash": "0x" + "ef" * 32,
        "parent_index_block_hash": "0x" + "01" * 32,
        "burn_block_height": 121,
        "tx_count": 3,
    }
    client, rec = make_client(lambda r: httpx.Response(200, json=body))
    block = await client.get_block(346)
    assert (block.height, block.burn_block_height, block.tx_count, block.canonical) == (
        346,
        121,
        3,
        True,
    )
    assert rec.requests[0].url.path == "/extended/v2/blocks/346"
    await client.aclose()


def test_normalize_txid() -> None:
    assert normalize_txid("0x" + VEC1_TXID.upper()) == VEC1_TXID
    with pytest.raises(ValueError, match="not a transaction id"):
        normalize_txid("0x1234")


async def test_balances() -> None:
    body = {
        "stx": {"balance": "1000000", "locked": "0", "total_sent": "0"},
        "fungible_tokens": {
            SBTC_TESTNET + "::sbtc-token": {"balance": "25000", "total_sent": "0"},
        },
        "non_fungible_tokens": {},
    }
    client, rec = make_client(lambda r: httpx.Response(200, json=body))
    balances = await client.get_balances(RECIPIENT)
    assert balances.stx == 1_000_000
    assert balances.token(SBTC_TESTNET + "::sbtc-token") == 25000
    assert balances.token("SP000000000000000000002Q6VF78.x::y") == 0
    assert rec.requests[0].url.path == f"/extended/v1/address/{RECIPIENT}/balances"
    await client.aclose()


async def test_address_transactions() -> None:
    body = {"limit": 2, "offset": 0, "total": 7, "results": [TX_JSON, TX_JSON]}
    client, rec = make_client(lambda r: httpx.Response(200, json=body))
    page = await client.get_address_transactions(RECIPIENT, limit=2)
    assert (page.total, page.limit, page.offset) == (7, 2, 0)
    assert [t.tx_id for t in page.transactions] == [VEC1_TXID, VEC1_TXID]
    assert rec.requests[0].url.params["limit"] == "2"
    await client.aclose()


def test_post_condition_hex_and_json_forms() -> None:
    from sbtc_gateway.chain.postconditions import ft_post_condition, stx_post_condition

    pc = ft_post_condition(RECIPIENT, "eq", 25000, SBTC_TESTNET + "::sbtc-token")
    assert pc.to_hex() == pc.serialize().hex()
    assert pc.to_json() == {
        "type": "ft-postcondition",
        "address": RECIPIENT,
        "condition": "eq",
        "amount": "25000",
        "asset": SBTC_TESTNET + "::sbtc-token",
    }
    assert stx_post_condition("origin", "lte", 5).to_json()["address"] == "origin"


async def test_half_open_trial_answered_429_does_not_wedge_the_breaker() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5.0, clock=clock)
    client, _ = make_client(
        sequence(httpx.Response(500), httpx.Response(429), httpx.Response(200, json=INFO)),
        retry=RetryPolicy(attempts=1),
        breaker=breaker,
    )
    with pytest.raises(ApiUnavailableError):
        await client.get_info()
    clock.now += 5
    with pytest.raises(ApiUnavailableError, match="429"):
        await client.get_info()
    assert breaker.state == "closed"
    await client.get_info()
    await client.aclose()


async def test_cancelled_trial_frees_the_half_open_slot() -> None:
    import asyncio

    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5.0, clock=clock)
    breaker.record_failure()
    clock.now += 5

    def cancelled(request: httpx.Request) -> httpx.Response:
        raise asyncio.CancelledError

    client, _ = make_client(cancelled, breaker=breaker)
    with pytest.raises(asyncio.CancelledError):
        await client.get_info()
    breaker.before_call()  # the slot is free again
    await client.aclose()


async def test_broadcast_plain_text_400_is_a_rejection() -> None:
    client, _ = make_client(lambda r: httpx.Response(400, text="transaction rejected: BadNonce"))
    with pytest.raises(TransactionRejectedError) as info:
        await client.broadcast(RAW)
    assert "BadNonce" in info.value.reason
    assert info.value.txid == VEC1_TXID
    await client.aclose()


async def test_broadcast_refused_for_auth_is_a_request_error() -> None:
    client, _ = make_client(lambda r: httpx.Response(401, json={"error": "bad api key"}))
    with pytest.raises(ApiRequestError) as info:
        await client.broadcast(RAW)
    assert info.value.status == 401
    await client.aclose()


async def test_unavailable_error_carries_the_last_status() -> None:
    client, _ = make_client(lambda r: httpx.Response(503))
    with pytest.raises(ApiUnavailableError) as info:
        await client.get_info()
    assert info.value.status == 503
    await client.aclose()


async def test_contract_interface() -> None:
    abi = {"functions": [{"name": "pay", "access": "public", "args": [], "outputs": {}}]}
    client, rec = make_client(lambda r: httpx.Response(200, json=abi))
    assert (await client.get_contract_interface(GATEWAY))["functions"][0]["name"] == "pay"
    assert rec.requests[0].url.path == (
        "/v2/contracts/interface/ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM/payment-gateway"
    )
    await client.aclose()


async def test_mempool_fees() -> None:
    body = {
        "all": {"no_priority": 1, "low_priority": 2, "medium_priority": 3, "high_priority": 4},
        "contract_call": {"low_priority": 10, "medium_priority": 20.5, "high_priority": 30},
    }
    client, _ = make_client(lambda r: httpx.Response(200, json=body))
    fees = await client.get_mempool_fees()
    assert fees["all"] == FeeEstimate(2, 3, 4)
    assert fees["contract_call"] == FeeEstimate(10, 21, 30)
    await client.aclose()


async def test_events_endpoint() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["tx_id"] == "0x" + VEC1_TXID
        assert request.url.params.get_list("type") == ["smart_contract_log", "fungible_token_asset"]
        return httpx.Response(200, json={"limit": 100, "offset": 0, "events": TX_JSON["events"]})

    client, _ = make_client(handler)
    events = await client.get_events(
        tx_id=VEC1_TXID, types=["smart_contract_log", "fungible_token_asset"]
    )
    assert [e.event_index for e in events] == [0, 1]
    with pytest.raises(ValueError, match="exactly one"):
        await client.get_events()
    await client.aclose()
