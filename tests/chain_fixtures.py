"""The devnet fixtures and helpers the chain suites share (a plugin of tests/conftest.py).

A devnet prepared once per run (`chain_env`: the gateway key set in the contract, a merchant
wallet (never registered on chain: the gateway's signature names it), a funded payer and a payer
without sBTC), a watcher driven round by round
(`watcher`), the official `stripe` SDK as the merchant (`shop`), and wallets played by
`tests/js/pay_intent.mjs` (stacks.js) building transactions from `next_action.sbtc_contract_call`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.chain import (
    DEVNET,
    PrivateKey,
    StacksApiClient,
)
from sbtc_gateway.chainstate import repository as watch_repo
from sbtc_gateway.chainstate.models import ChainInboxEntry
from sbtc_gateway.config import Settings
from sbtc_gateway.db.engine import make_engine, make_sessionmaker
from sbtc_gateway.events.models import Event
from sbtc_gateway.payments.service import PaymentSettings
from sbtc_gateway.watcher import setup as chain_setup
from sbtc_gateway.watcher.runner import RoundResult, Watcher
from sbtc_gateway.watcher.target import WatchTarget
from tests.conftest import ServerThread


def devnet_url() -> str:
    """The run's devnet (tests/conftest.py starts it after this plugin is imported, so the
    variable is read when a fixture needs it, not at import)."""
    url = os.environ.get("STACKS_DEVNET_URL")
    assert url, "no devnet (STACKS_DEVNET_URL)"
    return url


JS_DIR = Path(__file__).parent / "js"
CHAIN_MARKS = [
    pytest.mark.devnet,
    # a string condition: evaluated when the test runs, after the devnet has started
    pytest.mark.skipif("not os.environ.get('STACKS_DEVNET_URL')", reason="no devnet"),
    pytest.mark.skipif(
        shutil.which("node") is None or not (JS_DIR / "node_modules").is_dir(),
        reason="node or tests/js/node_modules missing (make setup)",
    ),
]
CONTRACT = "ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.sbtc-payment-gateway"
DEADLINE = 90.0


@dataclass
class ChainEnv:
    url: str
    deployer: PrivateKey
    merchant_key: PrivateKey
    merchant: str
    payer_key: str
    payer: str
    poor_payer_key: str
    poor_payer: str
    merchant_key_hex: str
    deployer_key_hex: str = ""

    def mine(self, blocks: int = 1) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/devnet/mine", json={"blocks": blocks}, timeout=60)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def reorg(self, depth: int, drop: Sequence[str] = ()) -> dict[str, Any]:
        """Roll back `depth` blocks; the txids in `drop` are lost with the fork."""
        body = {"depth": depth, "drop": ["0x" + t.removeprefix("0x") for t in drop]}
        response = httpx.post(f"{self.url}/devnet/reorg", json=body, timeout=60)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def tip(self) -> int:
        height: int = httpx.get(f"{self.url}/v2/info", timeout=30).json()["stacks_tip_height"]
        return height

    def pay(
        self,
        call: dict[str, Any],
        *,
        key: str | None = None,
        override: dict[str, Any] | None = None,
        fee: int = 10_000,
        nonce: int | None = None,
    ) -> str:
        """Pay as a wallet: @stacks/transactions builds, signs and broadcasts the call."""
        payload = {
            "call": call,
            "senderKey": key or self.payer_key,
            "apiUrl": self.url,
            "fee": fee,
            "nonce": nonce,
            "override": override or {},
        }
        out = subprocess.run(
            [shutil.which("node") or "node", "pay_intent.mjs", json.dumps(payload)],
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        assert isinstance(result["broadcast"], dict), result
        assert "error" not in result["broadcast"], result
        txid: str = result["txid"]
        return txid


async def _wait_tx(client: StacksApiClient, env: ChainEnv, txid: str) -> str:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        info = await client.get_transaction(txid)
        if info.block_height is not None:
            return info.status.value
        env.mine()
        await asyncio.sleep(0.1)
    raise AssertionError(f"{txid} was not mined")


@pytest.fixture(scope="session")
async def chain_env(settings: Settings) -> ChainEnv:
    return await prepare_chain_env(settings.secret("gateway_signing_key"))


async def set_gateway_key(url: str, gateway_signing_key: str) -> None:
    """The gateway's key in a devnet's contract, as its deployer (the owner), mined: every
    confirmation checks that the contract accepts the key before it hands out a call."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        accounts = {a["name"]: a for a in (await http.get("/devnet/accounts")).json()}
        deployer = PrivateKey.from_hex(accounts["deployer"]["private_key"])
        async with StacksApiClient(url, timeout=30) as client:
            config = await client.call_read_only(CONTRACT, "get-config", [])
            public_key = PrivateKey.from_hex(gateway_signing_key).public_key
            if f"0x{public_key.hex()}" in repr(config):
                return
            sent = await chain_setup.set_gateway_key(client, DEVNET, CONTRACT, deployer, public_key)
            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline:
                (await http.post("/devnet/mine", json={"blocks": 1})).raise_for_status()
                info = await client.get_transaction(sent.txid)
                if info.block_height is not None:
                    assert info.status.value == "success", info.tx_result_repr
                    return
        raise AssertionError("set-gateway-key was not mined")


async def prepare_chain_env(gateway_signing_key: str, url: str | None = None) -> ChainEnv:
    """Devnet set-up: the gateway's key in the contract (as the deployer, i.e. the owner), a
    merchant wallet, a funded payer and a payer with no sBTC. (Also used by
    tests/scripts/test_scaleout.py, whose gateway processes sign with the same key.) `url`: another
    devnet than the run's."""
    url = url or devnet_url()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        accounts = {a["name"]: a for a in (await http.get("/devnet/accounts")).json()}
        contracts = (await http.get("/devnet/contracts")).json()
        assert CONTRACT in json.dumps(contracts)
        deployer = PrivateKey.from_hex(accounts["deployer"]["private_key"])
        merchant_key = PrivateKey.from_hex(accounts["wallet_3"]["private_key"])
        env = ChainEnv(
            url=url,
            deployer=deployer,
            merchant_key=merchant_key,
            merchant=accounts["wallet_3"]["address"],
            payer_key=accounts["wallet_4"]["private_key"],
            payer=accounts["wallet_4"]["address"],
            poor_payer_key=accounts["wallet_5"]["private_key"],
            poor_payer=accounts["wallet_5"]["address"],
            merchant_key_hex=accounts["wallet_3"]["private_key"],
            deployer_key_hex=accounts["deployer"]["private_key"],
        )
        await http.post("/devnet/faucet", json={"address": env.payer, "stx": 10**10, "sbtc": 10**9})
        await http.post("/devnet/faucet", json={"address": env.poor_payer, "stx": 10**10})
        # the merchant refunds from its own balance (incl. the fee it never received)
        await http.post(
            "/devnet/faucet", json={"address": env.merchant, "stx": 10**10, "sbtc": 10**8}
        )
        # the fee recipient (the deployer) pays intents too: the fee it owes itself is held
        deployer_address = accounts["deployer"]["address"]
        await http.post("/devnet/faucet", json={"address": deployer_address, "sbtc": 10**8})
    await set_gateway_key(url, gateway_signing_key)
    return env


@pytest.fixture(scope="session")
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.resolved_database_url, pool_size=5)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
async def api() -> AsyncIterator[StacksApiClient]:
    async with StacksApiClient(devnet_url(), timeout=30) as client:
        yield client


def target(settings: Settings) -> WatchTarget:
    return WatchTarget(
        network=DEVNET,
        contract_id=CONTRACT,
        livemode=False,
        large_payment_sats=settings.large_payment_sats,
        large_payment_confirmations=settings.large_payment_confirmations,
    )


@pytest.fixture
def watcher(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    api: StacksApiClient,
    chain_env: ChainEnv,
) -> Watcher:
    return Watcher(sessions, target(settings), api, poll_interval=0.1, reconcile_every=1)


def sign_up_shop(server_url: str, payout_address: str) -> stripe.StripeClient:
    response = httpx.post(
        f"{server_url}/v1/merchants",
        data={
            "business_name": "Chain Shop",
            "email": f"chain-{uuid.uuid4().hex[:10]}@example.com",
            "stacks_address": payout_address,
        },
    )
    assert response.status_code == 200, response.text
    return stripe.StripeClient(
        response.json()["secret_key"], base_addresses={"api": server_url}, max_network_retries=2
    )


@pytest.fixture
def shop(live_server: ServerThread, chain_env: ChainEnv) -> stripe.StripeClient:
    return sign_up_shop(live_server.url, chain_env.merchant)


async def run_until(
    watcher: Watcher,
    env: ChainEnv,
    check: Callable[[], bool],
    *,
    mine: bool = True,
    what: str = "condition",
) -> RoundResult:
    deadline = time.monotonic() + DEADLINE
    result = RoundResult()
    while time.monotonic() < deadline:
        if mine:
            env.mine()
        result = await watcher.run_round()
        if check():
            return result
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last round: {result})")


def status_is(client: stripe.StripeClient, pi_id: str, *statuses: str) -> Callable[[], bool]:
    return lambda: client.v1.payment_intents.retrieve(pi_id).status in statuses


def new_intent(
    client: stripe.StripeClient, env: ChainEnv, amount: int = 25_000, payer: str | None = None
) -> Any:
    pi = client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "sbtc",
            "payment_method_data": {"type": "sbtc", "sbtc": {"payer": payer or env.payer}},
        }
    )
    return client.v1.payment_intents.confirm(pi.id)


def fee_settings() -> PaymentSettings:
    """The test network's payment settings as the worker's fee scan reads them (its contract)."""
    return PaymentSettings(
        min_amount=1,
        max_amount=10**9,
        default_expiry_seconds=600,
        test_network="devnet",
        test_contract=CONTRACT,
        live_contract=None,
        checkout_base_url="http://gateway.test",
    )


async def events_for(sessions: async_sessionmaker[AsyncSession], pi_id: str) -> list[str]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Event).where(Event.object_id == pi_id).order_by(Event.created, Event.id)
        )
        return [e.type for e in rows]


async def inbox_for(
    sessions: async_sessionmaker[AsyncSession], pi_id: str
) -> list[ChainInboxEntry]:
    async with sessions() as session:
        return await watch_repo.inbox_for(session, "devnet", pi_id)


def refund_is(client: stripe.StripeClient, refund_id: str, status: str) -> Callable[[], bool]:
    return lambda: client.v1.refunds.retrieve(refund_id).status == status


def charge_of(client: stripe.StripeClient, pi_id: str) -> Any:
    return client.v1.charges.retrieve(client.v1.payment_intents.retrieve(pi_id).latest_charge)


def ledger_of(client: stripe.StripeClient, source: str) -> list[tuple[str, int, int, int]]:
    rows = client.v1.balance_transactions.list(params={"source": source, "limit": 100}).data
    return sorted((r.type, r.amount, r.fee, r.net) for r in rows)
