"""Integration tests against the local devnet (set STACKS_DEVNET_URL, e.g. http://127.0.0.1:3999).

They deploy a small contract, call it, read it back, follow transactions to a final status, see a
post-condition abort and a nonce error, and move devnet sBTC with an FT post-condition. The devnet
mines on a timer; the tests also ask it to mine (POST /devnet/mine) while they wait.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sbtc_gateway.chain.api_types import TransactionInfo, TxStatus
from sbtc_gateway.chain.builders import make_contract_call, make_token_transfer
from sbtc_gateway.chain.clarity import (
    FALSE,
    NONE,
    TRUE,
    Buffer,
    Ok,
    Some,
    StringAscii,
    Tuple,
    UInt,
    principal,
)
from sbtc_gateway.chain.client import StacksApiClient
from sbtc_gateway.chain.errors import TransactionRejectedError
from sbtc_gateway.chain.keys import PrivateKey
from sbtc_gateway.chain.networks import DEVNET
from sbtc_gateway.chain.postconditions import ft_post_condition, stx_post_condition
from sbtc_gateway.chain.service import StacksBlockchainService
from sbtc_gateway.chain.signing import sign_terms, terms_hash
from tests.chain.chain_vectors import INTENT_TERMS_HASH

DEVNET_URL = os.environ.get("STACKS_DEVNET_URL")

pytestmark = [
    pytest.mark.devnet,
    pytest.mark.skipif(
        not DEVNET_URL, reason="STACKS_DEVNET_URL is not set (start the devnet and point it there)"
    ),
]

CONTRACT = """
(define-data-var counter uint u0)
(define-map notes uint (string-ascii 32))

(define-public (bump (by uint) (note (string-ascii 32)))
  (let ((next (+ (var-get counter) by)))
    (var-set counter next)
    (map-set notes next note)
    (print {event: "bumped", counter: next, note: note})
    (ok next)))

(define-read-only (get-counter) (var-get counter))

(define-public (pay-stx (amount uint) (to principal))
  (stx-transfer? amount tx-sender to))

(define-read-only (terms-hash (terms {invoice: (string-ascii 16), amount: uint}))
  (sha256 (unwrap-panic (to-consensus-buff? terms))))

(define-read-only (check-terms
    (terms {invoice: (string-ascii 16), amount: uint}) (sig (buff 65)) (key (buff 33)))
  (secp256k1-verify (sha256 (unwrap-panic (to-consensus-buff? terms))) sig key))
"""


@dataclass
class Devnet:
    url: str
    http: httpx.AsyncClient
    deployer: PrivateKey
    payer: PrivateKey
    merchant: str

    async def mine(self, blocks: int = 1) -> None:
        response = await self.http.post("/devnet/mine", json={"blocks": blocks})
        response.raise_for_status()

    async def sleep_and_mine(self, seconds: float) -> None:
        await self.mine()
        await asyncio.sleep(min(seconds, 0.25))

    def service(self, client: StacksApiClient, key: PrivateKey) -> StacksBlockchainService:
        return StacksBlockchainService(
            client, DEVNET, key, poll_interval=0.25, sleep=self.sleep_and_mine
        )


@pytest.fixture(scope="module")
async def devnet() -> AsyncIterator[Devnet]:
    assert DEVNET_URL is not None
    async with httpx.AsyncClient(base_url=DEVNET_URL, timeout=30) as http:
        accounts: list[dict[str, Any]] = (
            (await http.get("/devnet/accounts")).raise_for_status().json()
        )
        by_name = {a["name"]: a for a in accounts}
        deployer = PrivateKey.from_hex(by_name["deployer"]["private_key"])
        payer = PrivateKey.from_hex(by_name["wallet_1"]["private_key"])
        merchant = by_name["wallet_2"]["address"]
        payer_address = payer.address(DEVNET.single_sig_version)
        assert by_name["wallet_1"]["address"] == payer_address
        await http.post(
            "/devnet/faucet",
            json={"address": payer_address, "stx": 10_000_000_000, "sbtc": 1_000_000},
        )
        yield Devnet(DEVNET_URL, http, deployer, payer, merchant)


@pytest.fixture(scope="module")
async def client(devnet: Devnet) -> AsyncIterator[StacksApiClient]:
    async with StacksApiClient(devnet.url, timeout=30) as api:
        yield api


@dataclass
class Deployment:
    contract_id: str
    info: TransactionInfo


@pytest.fixture(scope="module")
async def deployment(devnet: Devnet, client: StacksApiClient) -> Deployment:
    service = devnet.service(client, devnet.deployer)
    name = f"chain-test-{secrets.token_hex(4)}"
    result = await service.deploy_contract(name, CONTRACT.strip(), fee=100_000)
    info = await service.monitor_transaction(result.txid, max_polls=120)
    return Deployment(result.contract_id, info)


@pytest.fixture(scope="module")
async def deployed(deployment: Deployment, client: StacksApiClient) -> str:
    # The other tests need the contract to exist, whatever the deploy's status says.
    interface = await client.get_contract_interface(deployment.contract_id)
    assert {f["name"] for f in interface["functions"]} >= {"bump", "get-counter", "pay-stx"}
    return deployment.contract_id


async def test_deploy_reaches_success(deployment: Deployment) -> None:
    assert deployment.info.status is TxStatus.SUCCESS, deployment.info.raw
    assert deployment.info.tx_type == "smart_contract"


async def test_network_info(client: StacksApiClient) -> None:
    info = await client.get_info()
    assert info.network_id == DEVNET.chain_id


async def test_call_read_back_and_events(
    devnet: Devnet, client: StacksApiClient, deployed: str
) -> None:
    service = devnet.service(client, devnet.payer)
    result = await service.call_contract_function(
        deployed, "bump", [UInt(5), StringAscii("inv-0001")], fee=10_000
    )
    info = await service.monitor_transaction(result.txid, max_polls=120)
    assert info.status is TxStatus.SUCCESS
    assert info.tx_result is not None
    assert repr(info.tx_result).startswith("(ok u")
    counter = await service.call_read_only(deployed, "get-counter")
    assert isinstance(counter, UInt)
    assert counter.value >= 5
    assert await service.read_map_entry(deployed, "notes", counter) == Some(StringAscii("inv-0001"))
    assert await service.read_map_entry(deployed, "notes", UInt(10**30)) == NONE
    events = await service.get_transaction_events(result.txid)
    printed = [e for e in events if e.event_type == "smart_contract_log"]
    assert printed
    assert isinstance(printed[0].value, Tuple)
    assert printed[0].value["note"] == StringAscii("inv-0001")
    assert info.tx_result == Ok(printed[0].value["counter"])


async def test_read_data_var(devnet: Devnet, client: StacksApiClient, deployed: str) -> None:
    # GET /v2/data_var/{address}/{contract}/{var} (the node RPC's data-var read).
    service = devnet.service(client, devnet.payer)
    counter = await service.read_contract_data(deployed, "counter")
    assert counter == await service.call_read_only(deployed, "get-counter")


async def test_subscription_sees_a_new_print(
    devnet: Devnet, client: StacksApiClient, deployed: str
) -> None:
    service = devnet.service(client, devnet.payer)
    events = service.subscribe_to_events(deployed, poll_interval=0.25)
    first = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0.5)  # let the subscription prime itself at "now"
    result = await service.call_contract_function(
        deployed, "bump", [UInt(1), StringAscii("sub")], fee=10_000
    )
    event = await asyncio.wait_for(first, timeout=120)
    assert event.tx_id == result.txid
    await events.aclose()


async def test_terms_signature_verifies_in_the_clarity_vm(
    devnet: Devnet, client: StacksApiClient, deployed: str
) -> None:
    terms = Tuple({"invoice": StringAscii("inv-0001"), "amount": UInt(25000)})
    key = PrivateKey(bytes.fromhex("42" * 32))
    signature = sign_terms(terms, key)
    vm_hash = await client.call_read_only(deployed, "terms-hash", [terms])
    assert vm_hash == Buffer(terms_hash(terms))
    assert vm_hash == Buffer(bytes.fromhex(INTENT_TERMS_HASH))
    ok = await client.call_read_only(
        deployed, "check-terms", [terms, Buffer(signature), Buffer(key.public_key)]
    )
    assert ok == TRUE
    other = Tuple({"invoice": StringAscii("inv-0001"), "amount": UInt(25001)})
    refused = await client.call_read_only(
        deployed, "check-terms", [other, Buffer(signature), Buffer(key.public_key)]
    )
    assert refused == FALSE


async def test_post_condition_abort(devnet: Devnet, client: StacksApiClient, deployed: str) -> None:
    service = devnet.service(client, devnet.payer)
    # Deny mode with an STX limit of 10 µSTX while the call moves 1000: the node must abort.
    result = await service.call_contract_function(
        deployed,
        "pay-stx",
        [UInt(1000), principal(devnet.merchant)],
        post_conditions=[stx_post_condition("origin", "lte", 10)],
        fee=10_000,
    )
    info = await service.monitor_transaction(result.txid, max_polls=120)
    assert info.status is TxStatus.ABORT_BY_POST_CONDITION


async def test_nonce_error(devnet: Devnet, client: StacksApiClient) -> None:
    service = devnet.service(client, devnet.payer)
    sender = devnet.payer.address(DEVNET.single_sig_version)
    done = await service.broadcast_transaction(
        make_token_transfer(
            DEVNET,
            devnet.payer,
            devnet.merchant,
            1,
            nonce=(await client.get_nonces(sender)).possible_next_nonce,
            fee=10_000,
        )
    )
    await service.monitor_transaction(done.txid, max_polls=120)
    stale = make_token_transfer(
        DEVNET, devnet.payer, devnet.merchant, 2, nonce=done.nonce, fee=20_000
    )
    with pytest.raises(TransactionRejectedError) as info:
        await client.broadcast(stale.serialize())
    assert info.value.reason in {"BadNonce", "ConflictingNonceInMempool"}


async def test_sbtc_transfer_with_ft_post_condition(
    devnet: Devnet, client: StacksApiClient
) -> None:
    service = devnet.service(client, devnet.payer)
    sender = devnet.payer.address(DEVNET.single_sig_version)
    nonce = (await client.get_nonces(sender)).possible_next_nonce
    tx = make_contract_call(
        DEVNET,
        devnet.payer,
        DEVNET.sbtc_token,
        "transfer",
        [UInt(2500), principal(sender), principal(devnet.merchant), Some(Buffer(b"pi_123"))],
        nonce=nonce,
        fee=10_000,
        post_conditions=[ft_post_condition(sender, "eq", 2500, DEVNET.sbtc_asset_id)],
    )
    result = await service.broadcast_transaction(tx)
    info = await service.monitor_transaction(result.txid, max_polls=120)
    assert info.status is TxStatus.SUCCESS, info.raw
    transfers = [e for e in await service.get_transaction_events(result.txid) if e.asset_id]
    assert transfers[0].asset_id == DEVNET.sbtc_asset_id
    assert transfers[0].amount == 2500
    assert transfers[0].recipient == devnet.merchant
