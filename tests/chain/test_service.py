"""StacksBlockchainService over a scripted in-memory API (httpx.MockTransport)."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sbtc_gateway.chain.api_types import TxStatus
from sbtc_gateway.chain.clarity import StringAscii, Tuple, UInt, principal
from sbtc_gateway.chain.client import StacksApiClient
from sbtc_gateway.chain.errors import (
    MonitorTimeoutError,
    TransactionRejectedError,
)
from sbtc_gateway.chain.keys import PrivateKey
from sbtc_gateway.chain.networks import TESTNET
from sbtc_gateway.chain.postconditions import ft_post_condition
from sbtc_gateway.chain.resilience import RetryPolicy
from sbtc_gateway.chain.service import (
    BlockchainService,
    EventCursor,
    FeePolicy,
    StacksBlockchainService,
)
from sbtc_gateway.chain.transactions import (
    ContractCallPayload,
    SmartContractPayload,
    Transaction,
    deserialize_transaction,
    verify_origin,
)
from tests.chain.chain_vectors import ADDRESS_TESTNET, GATEWAY, PRIVATE_KEY, RECIPIENT, SBTC_TESTNET

KEY = PrivateKey.from_hex(PRIVATE_KEY)


class FakeApi:
    """Just enough of the node RPC + Hiro API, with knobs for the failure cases."""

    def __init__(self) -> None:
        self.next_nonce = 5
        self.broadcasts: list[Transaction] = []
        self.reject: dict[str, Any] | None = None
        self.fee_answer: httpx.Response = httpx.Response(
            200,
            json={"estimations": [{"fee": 400}, {"fee": 2500}, {"fee": 9000}]},
        )
        self.tx_answers: list[httpx.Response] = []
        self.log_pages: list[list[dict[str, Any]]] = []
        self.paths: list[str] = []
        self.nonces_missing = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.paths.append(path)
        if path.endswith("/nonces"):
            if self.nonces_missing:
                return httpx.Response(404, json={"error": "no"})
            return httpx.Response(200, json={"possible_next_nonce": self.next_nonce})
        if path.startswith("/v2/accounts/"):
            return httpx.Response(200, json={"balance": "0x0", "locked": "0x0", "nonce": 11})
        if path == "/v2/fees/transaction":
            return self.fee_answer
        if path == "/v2/transactions":
            tx = deserialize_transaction(request.content)
            if self.reject is not None:
                return httpx.Response(400, json={**self.reject, "txid": tx.txid()})
            self.broadcasts.append(tx)
            return httpx.Response(200, json=tx.txid())
        if path.startswith("/extended/v1/tx/"):
            return self.tx_answers.pop(0)
        if path.startswith("/extended/v2/smart-contracts/"):
            page = self.log_pages.pop(0) if len(self.log_pages) > 1 else self.log_pages[0]
            return httpx.Response(200, json={"results": page, "next_cursor": None})
        if path.startswith("/v2/data_var/"):
            return httpx.Response(200, json={"data": UInt(7).to_hex()})
        if path.startswith("/v2/map_entry/"):
            return httpx.Response(200, json={"data": "0x0a" + UInt(1).serialize().hex()})
        if path.startswith("/v2/contracts/call-read/"):
            body = json.loads(request.content)
            assert body["sender"] == ADDRESS_TESTNET
            return httpx.Response(200, json={"okay": True, "result": UInt(3).to_hex()})
        if path == "/v2/info":
            return httpx.Response(
                200,
                json={
                    "network_id": 2147483648,
                    "stacks_tip_height": 1,
                    "stacks_tip": "00",
                    "burn_block_height": 2,
                    "server_version": "devnet",
                },
            )
        return httpx.Response(404, json={"error": "unknown path"})


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make_service(
    api: FakeApi, *, fees: FeePolicy | None = None
) -> tuple[StacksBlockchainService, Sleeps]:
    sleeps = Sleeps()
    client = StacksApiClient(
        "http://127.0.0.1:3999",
        transport=httpx.MockTransport(api),
        retry=RetryPolicy(attempts=2, jitter=0.0),
        sleep=sleeps,
        rng=random.Random(0),
    )
    service = StacksBlockchainService(
        client, TESTNET, KEY, fees=fees, poll_interval=1.5, sleep=sleeps
    )
    return service, sleeps


def tx_json(status: str, **extra: Any) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "tx_id": "0x" + "ab" * 32,
            "tx_status": status,
            "tx_type": "contract_call",
            "event_count": 0,
            "events": [],
            **extra,
        },
    )


def test_service_satisfies_the_interface() -> None:
    service, _ = make_service(FakeApi())
    assert isinstance(service, StacksBlockchainService)
    typed: BlockchainService = service
    assert typed is service
    assert PRIVATE_KEY not in repr(service)
    assert service.sender == ADDRESS_TESTNET


async def test_call_contract_function_signs_with_api_nonce_and_estimated_fee() -> None:
    api = FakeApi()
    service, _ = make_service(api)
    pc = ft_post_condition(ADDRESS_TESTNET, "eq", 25000, TESTNET.sbtc_asset_id)
    result = await service.call_contract_function(
        GATEWAY,
        "pay",
        [UInt(25000), StringAscii("inv-0001"), principal(RECIPIENT)],
        post_conditions=[pc],
    )
    (tx,) = api.broadcasts
    assert verify_origin(tx) == KEY.public_key
    assert (result.nonce, result.fee) == (5, 2500)
    assert (tx.origin.nonce, tx.origin.fee) == (5, 2500)
    assert result.txid == tx.txid()
    assert isinstance(tx.payload, ContractCallPayload)
    assert tx.payload.contract_id == GATEWAY
    assert tx.post_conditions == (pc,)
    await service.client.aclose()


async def test_consecutive_calls_use_consecutive_nonces() -> None:
    api = FakeApi()
    service, _ = make_service(api)
    first = await service.call_contract_function(GATEWAY, "ping", [], fee=1000)
    second = await service.call_contract_function(GATEWAY, "ping", [], fee=1000)
    # The API has not seen the first one yet; the service does not reuse its nonce.
    assert (first.nonce, second.nonce) == (5, 6)
    assert [t.origin.fee for t in api.broadcasts] == [1000, 1000]
    await service.client.aclose()


async def test_nonce_falls_back_to_the_account_endpoint() -> None:
    api = FakeApi()
    api.nonces_missing = True
    service, _ = make_service(api)
    result = await service.call_contract_function(GATEWAY, "ping", [], fee=1000)
    assert result.nonce == 11
    await service.client.aclose()


async def test_fee_is_clamped_and_defaults_without_estimate() -> None:
    api = FakeApi()
    service, _ = make_service(api, fees=FeePolicy(default_fee=1234, min_fee=100, max_fee=2000))
    assert (await service.call_contract_function(GATEWAY, "ping", [])).fee == 2000
    api.fee_answer = httpx.Response(400, json={"reason": "NoEstimateAvailable"})
    assert (await service.call_contract_function(GATEWAY, "ping", [])).fee == 1234
    await service.client.aclose()


async def test_bad_nonce_rejection_resets_the_nonce_cache() -> None:
    api = FakeApi()
    service, _ = make_service(api)
    await service.call_contract_function(GATEWAY, "ping", [], fee=1000)  # uses 5, caches 6
    api.reject = {
        "error": "transaction rejected",
        "reason": "BadNonce",
        "reason_data": {"expected": 9, "actual": 6},
    }
    with pytest.raises(TransactionRejectedError) as info:
        await service.call_contract_function(GATEWAY, "ping", [], fee=1000)
    assert info.value.is_bad_nonce
    api.reject = None
    api.next_nonce = 9
    assert (await service.call_contract_function(GATEWAY, "ping", [], fee=1000)).nonce == 9
    await service.client.aclose()


async def test_other_rejections_give_the_nonce_back() -> None:
    api = FakeApi()
    api.next_nonce = 3
    service, _ = make_service(api)
    api.reject = {"error": "transaction rejected", "reason": "NotEnoughFunds"}
    with pytest.raises(TransactionRejectedError):
        await service.call_contract_function(GATEWAY, "ping", [], fee=1000)
    api.reject = None
    assert (await service.call_contract_function(GATEWAY, "ping", [], fee=1000)).nonce == 3
    await service.client.aclose()


async def test_deploy_contract() -> None:
    api = FakeApi()
    service, _ = make_service(api)
    result = await service.deploy_contract("payment-gateway", "(define-constant x u1)", fee=50_000)
    assert result.contract_id == f"{ADDRESS_TESTNET}.payment-gateway"
    (tx,) = api.broadcasts
    assert isinstance(tx.payload, SmartContractPayload)
    assert tx.payload.serialize()[:2] == b"\x06\x03"
    await service.client.aclose()


async def test_reads() -> None:
    service, _ = make_service(FakeApi())
    assert await service.read_contract_data(GATEWAY, "fee-bps") == UInt(7)
    entry = await service.read_map_entry(
        GATEWAY, "payment-intents", Tuple({"id": StringAscii("x")})
    )
    assert repr(entry) == "(some u1)"
    assert await service.call_read_only(GATEWAY, "get-fee") == UInt(3)
    assert (await service.get_network_info()).network_id == TESTNET.chain_id
    await service.client.aclose()


async def test_monitor_waits_out_unknown_pending_and_outages() -> None:
    api = FakeApi()
    api.tx_answers = [
        httpx.Response(404, json={"error": "not found"}),
        tx_json("pending"),
        httpx.Response(500),
        httpx.Response(502),  # two 5xx: retries exhausted -> outage, not failure
        tx_json("success", tx_result={"hex": "0x0703", "repr": "(ok true)"}, block_height=9),
    ]
    service, sleeps = make_service(api)
    info = await service.monitor_transaction("ab" * 32)
    assert info.status is TxStatus.SUCCESS
    assert info.block_height == 9
    assert sleeps.calls.count(1.5) == 3
    await service.client.aclose()


async def test_monitor_reports_aborts_as_final() -> None:
    api = FakeApi()
    api.tx_answers = [tx_json("abort_by_post_condition")]
    service, _ = make_service(api)
    info = await service.monitor_transaction("ab" * 32)
    assert info.status is TxStatus.ABORT_BY_POST_CONDITION
    await service.client.aclose()


async def test_monitor_gives_up_as_unknown() -> None:
    api = FakeApi()
    api.tx_answers = [tx_json("pending") for _ in range(3)]
    service, _ = make_service(api)
    with pytest.raises(MonitorTimeoutError) as info:
        await service.monitor_transaction("ab" * 32, max_polls=3)
    assert info.value.last_status == "pending"
    await service.client.aclose()


def _log(tx: int, index: int, event_type: str = "smart_contract_log") -> dict[str, Any]:
    return {
        "event_index": index,
        "event_type": event_type,
        "tx_id": "0x" + f"{tx:064x}",
        "contract_log": {
            "contract_id": GATEWAY,
            "topic": "print",
            "value": {"hex": UInt(tx * 10 + index).to_hex(), "repr": ""},
        },
    }


async def _take(iterator: AsyncIterator[Any], n: int) -> list[Any]:
    out = []
    async for item in iterator:
        out.append(item)
        if len(out) == n:
            break
    return out


async def test_subscription_from_now_yields_only_new_events_oldest_first() -> None:
    api = FakeApi()
    api.log_pages = [
        [_log(1, 0)],  # priming: newest existing event
        [_log(1, 0)],  # nothing new
        [_log(3, 0), _log(2, 1), _log(2, 0), _log(1, 0)],
        [_log(4, 0), _log(3, 0)],
    ]
    service, _ = make_service(api)
    events = await _take(service.subscribe_to_events(GATEWAY), 4)
    assert [e.value for e in events] == [UInt(20), UInt(21), UInt(30), UInt(40)]
    await service.client.aclose()


async def test_subscription_resumes_after_a_cursor_and_filters_types() -> None:
    api = FakeApi()
    api.log_pages = [[_log(3, 0), _log(2, 0, "other"), _log(1, 0)]]
    service, _ = make_service(api)
    after = EventCursor(f"{1:064x}", 0)
    events = await _take(service.subscribe_to_events(GATEWAY, after=after), 1)
    assert [e.value for e in events] == [UInt(30)]
    await service.client.aclose()


async def test_subscription_survives_an_outage() -> None:
    api = FakeApi()
    calls = {"n": 0}
    inner = api.__call__

    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/extended/v2/smart-contracts/"):
            calls["n"] += 1
            if calls["n"] <= 2:
                return httpx.Response(503)
        return inner(request)

    api.log_pages = [[_log(1, 0)]]
    sleeps = Sleeps()
    client = StacksApiClient(
        "http://127.0.0.1:3999",
        transport=httpx.MockTransport(flaky),
        retry=RetryPolicy(attempts=2, jitter=0.0),
        sleep=sleeps,
    )
    service = StacksBlockchainService(client, TESTNET, None, sleep=sleeps)
    events = await _take(service.subscribe_to_events(GATEWAY, start="beginning"), 1)
    assert [e.value for e in events] == [UInt(10)]
    await client.aclose()


async def test_broadcast_transaction_and_estimate() -> None:
    api = FakeApi()
    service, _ = make_service(api)
    from sbtc_gateway.chain.builders import make_contract_call

    tx = make_contract_call(TESTNET, KEY, SBTC_TESTNET, "get-name", [], nonce=1, fee=300)
    result = await service.broadcast_transaction(tx)
    assert (result.txid, result.nonce, result.fee) == (tx.txid(), 1, 300)
    estimate = await service.estimate_transaction_fee(tx)
    assert (estimate.low, estimate.medium, estimate.high) == (400, 2500, 9000)
    await service.client.aclose()


async def test_service_without_key_refuses_to_sign() -> None:
    client = StacksApiClient("http://127.0.0.1:3999", transport=httpx.MockTransport(FakeApi()))
    service = StacksBlockchainService(client, TESTNET)
    with pytest.raises(ValueError, match="no signing key"):
        await service.call_contract_function(GATEWAY, "ping", [])
    await client.aclose()


async def test_missing_nonces_are_filled_first() -> None:
    api = FakeApi()
    inner = api.__call__

    def with_gap(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/nonces"):
            return httpx.Response(
                200, json={"possible_next_nonce": 9, "detected_missing_nonces": [7, 6]}
            )
        return inner(request)

    client = StacksApiClient("http://127.0.0.1:3999", transport=httpx.MockTransport(with_gap))
    service = StacksBlockchainService(client, TESTNET, KEY)
    assert (await service.call_contract_function(GATEWAY, "ping", [], fee=1000)).nonce == 6
    await client.aclose()


async def test_a_build_failure_does_not_burn_the_nonce() -> None:
    api = FakeApi()
    service, _ = make_service(api)
    with pytest.raises(ValueError, match="function name"):
        await service.call_contract_function(GATEWAY, "bad name", [], fee=1000)
    assert (await service.call_contract_function(GATEWAY, "ping", [], fee=1000)).nonce == 5
    await service.client.aclose()


async def test_fee_estimation_outage_falls_back_to_the_default() -> None:
    api = FakeApi()
    api.fee_answer = httpx.Response(503)
    service, _ = make_service(api, fees=FeePolicy(default_fee=4321))
    assert (await service.call_contract_function(GATEWAY, "ping", [])).fee == 4321
    await service.client.aclose()
