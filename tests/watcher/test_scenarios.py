"""One file of payment scenarios, run against every chain backend: the fake chain and the devnet.

LNbits runs one scenario file against each funding source; this is the same habit for chains.
The `world` fixture gives each scenario the same small interface whatever the backend: pay a
rendered `next_action.sbtc_contract_call` as a wallet, mine, reorg, sBTC balances and the
contract's read-only state, all through the `ChainSource` the gateway itself uses. A real
gateway app (its lifespan, on a database of its own) serves the API in process, and the real
`Watcher` runs round by round: every step is explicit (pay → round → mine → round), so nothing
waits on time. The devnet variant needs `STACKS_DEVNET_URL` (the test run starts one) and pays
with `tests/js/pay_intent.mjs` (stacks.js); the fake one signs with the gateway's own builder.

Reorg scenarios assert chain-level facts only (re-mined, dropped, balances): what the watcher
does with a reorg is being changed elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.chain import (
    DEVNET,
    ChainSource,
    PrivateKey,
    StacksApiClient,
    StacksBlockchainService,
    StringAscii,
    TransactionInfo,
    TxStatus,
    ft_post_condition,
    principal,
)
from sbtc_gateway.config import Settings
from sbtc_gateway.db.migrate import upgrade
from sbtc_gateway.events.models import Event
from sbtc_gateway.operator import worker as outbox
from sbtc_gateway.payments import fees
from sbtc_gateway.payments.onchain import contract_call
from sbtc_gateway.runtime.app import create_app
from sbtc_gateway.watcher import setup as chain_setup
from sbtc_gateway.watcher.decode import py
from sbtc_gateway.watcher.runner import RoundResult, Watcher
from sbtc_gateway.watcher.target import WatchTarget
from tests.conftest import Merchant, _pg_admin, _pg_url, sign_up
from tests.fakes.chain import FakeChain, signed_call

DEVNET_URL = os.environ.get("STACKS_DEVNET_URL")
JS_DIR = Path(__file__).parents[1] / "js"
DEVNET_BACKEND = pytest.param(
    "devnet",
    marks=[
        pytest.mark.devnet,
        pytest.mark.skipif(not DEVNET_URL, reason="no devnet (STACKS_DEVNET_URL)"),
        pytest.mark.skipif(
            shutil.which("node") is None or not (JS_DIR / "node_modules").is_dir(),
            reason="node or tests/js/node_modules missing (make setup)",
        ),
    ],
)
AMOUNT = 25_000


# --- the backends ---------------------------------------------------------------------------------


class Backend(Protocol):
    """A chain the scenarios can pay on, as a customer's and a merchant's wallets."""

    source: ChainSource
    contract_id: str
    merchant: str
    payer: str
    poor_payer: str  # holds STX for fees, no sBTC
    fee_recipient: str  # the contract's owner: its own payments' fees are held
    operator: PrivateKey  # the owner: sends `distribute-fees`, pause, suspensions

    async def pay(self, call: dict[str, Any], *, wallet: str = "payer") -> str:
        """Pay as one of the wallets: payer, poor_payer, merchant or fee_recipient."""

    def mine(self, blocks: int = 1) -> None: ...

    def reorg(self, depth: int, drop: Sequence[str] = ()) -> None: ...

    def attach(self, app: Any) -> None:
        """Point a gateway app's tip cache at this chain."""


class FakeBackend:
    def __init__(self, seed: str = "") -> None:
        self.chain = FakeChain(seed=seed)
        self.source: ChainSource = self.chain
        self.keys = {
            w: PrivateKey(hashlib.sha256(f"scenario {w}".encode()).digest())
            for w in ("merchant", "payer", "poor_payer")
        }
        self.keys["fee_recipient"] = self.chain.deployer
        self.merchant, self.payer, self.poor_payer = (
            self.chain.address(self.keys[w]) for w in ("merchant", "payer", "poor_payer")
        )
        self.contract_id = self.chain.contract_id
        self.fee_recipient = self.chain.owner
        self.operator = self.chain.deployer

    async def prepare(self, gateway_key: PrivateKey) -> None:
        """The devnet's set-up, on the fake: the same operator call, signed and broadcast (the
        merchant does nothing on chain)."""
        sent = await chain_setup.set_gateway_key(
            self.source, DEVNET, self.contract_id, self.chain.deployer, gateway_key.public_key
        )
        self.mine()
        assert self.chain.status(sent.txid) == "success"
        self.chain.faucet(self.payer, 10**9)
        self.chain.faucet(self.merchant, 10**8)
        self.chain.faucet(self.fee_recipient, 10**8)

    async def pay(self, call: dict[str, Any], *, wallet: str = "payer") -> str:
        key = self.keys[wallet]
        nonce = (await self.source.get_nonces(self.chain.address(key))).possible_next_nonce
        return await self.source.broadcast(signed_call(call, key, nonce=nonce).serialize())

    def mine(self, blocks: int = 1) -> None:
        self.chain.mine(blocks)

    def reorg(self, depth: int, drop: Sequence[str] = ()) -> None:
        self.chain.reorg(depth, drop)

    def attach(self, app: Any) -> None:
        # ChainTips builds HTTP clients from URLs; hand it the fake for the test network.
        app.state.gateway.payments.tips._clients[DEVNET.name] = self.chain


class DevnetBackend:
    def __init__(self, env: Any, client: StacksApiClient) -> None:
        from tests.chain_fixtures import CONTRACT

        self.env = env
        self.source: ChainSource = client
        self.contract_id = CONTRACT
        self.merchant, self.payer, self.poor_payer = env.merchant, env.payer, env.poor_payer
        self.operator = env.deployer  # the contract owner, and so the fee recipient
        self.fee_recipient = env.deployer.address(DEVNET.single_sig_version)
        self.wallets = {
            "merchant": env.merchant_key_hex,
            "payer": env.payer_key,
            "poor_payer": env.poor_payer_key,
            "fee_recipient": env.deployer_key_hex,
        }

    async def pay(self, call: dict[str, Any], *, wallet: str = "payer") -> str:
        txid: str = self.env.pay(call, key=self.wallets[wallet])
        return txid.removeprefix("0x")

    def mine(self, blocks: int = 1) -> None:
        self.env.mine(blocks)

    def reorg(self, depth: int, drop: Sequence[str] = ()) -> None:
        self.env.reorg(depth, drop)

    def attach(self, app: Any) -> None:
        """The app's settings already name the devnet's URL."""


# --- the world a scenario runs in -----------------------------------------------------------------


@dataclass
class World:
    backend: Backend
    settings: Settings
    stack: contextlib.AsyncExitStack
    apps: list[Any] = field(default_factory=list)
    clients: list[httpx.AsyncClient] = field(default_factory=list)
    watcher: Watcher = field(init=False)

    async def start(self) -> None:
        await self.gateway()
        target = WatchTarget(network=DEVNET, contract_id=self.backend.contract_id, livemode=False)
        self.watcher = Watcher(
            self.state.sessions,
            target,
            self.backend.source,
            after_commit=self._after_commit,
            poll_interval=0,
            reconcile_every=1,
        )
        await self.round()  # the cursor starts at the tip

    @property
    def state(self) -> Any:
        return self.apps[0].state.gateway

    async def _after_commit(self, session: AsyncSession) -> None:
        for app in self.apps:  # every app's cached intents, as a deployment's replicas
            await app.state.gateway.after_commit(session)

    async def gateway(self, **overrides: Any) -> httpx.AsyncClient:
        """Another gateway app on the same database (e.g. with other settings)."""
        app = create_app(self.settings.model_copy(update=overrides))
        await self.stack.enter_async_context(app.router.lifespan_context(app))
        self.backend.attach(app)
        client = await self.stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")
        )
        self.apps.append(app)
        self.clients.append(client)
        return client

    async def round(self) -> RoundResult:
        result = await self.watcher.run_round()
        assert result.error is None, result
        return result

    async def shop(self) -> Merchant:
        return await sign_up(self.clients[0], stacks_address=self.backend.merchant)

    async def confirmed(
        self, shop: Merchant, *, payer: str | None = None, amount: int = AMOUNT
    ) -> dict[str, Any]:
        for app in self.apps:
            app.state.gateway.payments.tips.forget()  # the tip now, not two seconds ago
        pi = await shop.create_intent(
            amount,
            **{
                "payment_method_data[type]": "sbtc",
                "payment_method_data[sbtc][payer]": payer or self.backend.payer,
            },
        )
        response = await shop.post(f"/v1/payment_intents/{pi['id']}/confirm")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["status"] == "requires_action"
        return body

    async def intent(self, shop: Merchant, pi: dict[str, Any]) -> dict[str, Any]:
        response = await shop.get(f"/v1/payment_intents/{pi['id']}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def paid(self, shop: Merchant) -> tuple[dict[str, Any], str]:
        """A confirmed intent, paid and mined: `succeeded`."""
        pi = await self.confirmed(shop)
        txid = await self.backend.pay(call_of(pi))
        self.backend.mine()
        await self.round()
        done = await self.intent(shop, pi)
        assert done["status"] == "succeeded", done
        return done, txid

    async def tip(self) -> int:
        return (await self.backend.source.get_info()).stacks_tip_height

    async def tx(self, txid: str) -> TransactionInfo:
        return await self.backend.source.get_transaction(txid)

    async def read(self, function: str, *args: Any) -> Any:
        source, contract_id = self.backend.source, self.backend.contract_id
        return py(await source.call_read_only(contract_id, function, list(args)))

    async def balance(self, who: str) -> int:
        """sBTC of an address or contract, from the token's own `get-balance`."""
        value = await self.backend.source.call_read_only(
            DEVNET.sbtc_token, "get-balance", [principal(who)]
        )
        amount = py(value)
        assert isinstance(amount, int), value
        return amount

    async def events(self, object_id: str) -> list[str]:
        async with self.state.sessions() as session:
            rows = await session.scalars(
                select(Event.type).where(Event.object_id == object_id).order_by(Event.id)
            )
            return list(rows)


async def distribute_fees(world: World) -> int:
    """The worker's fee step: queue the held fees of paid intents, then send them (the outbox)."""
    async with world.state.sessions.begin() as session:
        await fees.enqueue_fee_calls(session, world.state.payments, livemode=False, batch=50)
    result = await outbox.run_once(
        world.state.sessions,
        world.backend.source,
        outbox.OperatorAccount(DEVNET, world.backend.operator),
        worker_id="scenarios",
        config=outbox.OperatorConfig(batch=50),
        on_change=fees.record_call,
        after_commit=world._after_commit,
    )
    return result.broadcast


def call_of(obj: dict[str, Any]) -> dict[str, Any]:
    call: dict[str, Any] = obj["next_action"]["sbtc_contract_call"]
    return call


@contextlib.asynccontextmanager
async def fresh_database(settings: Settings, tmp: Path) -> AsyncIterator[str]:
    """A migrated database of the scenarios' own, of the same kind as `settings`'s: the
    watcher's cursor is per network, and each backend is a different chain."""
    if settings.resolved_database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp / 'scenarios.db'}"
        await upgrade(url)
        yield url
        return
    name = f"sbtc_scenarios_{secrets.token_hex(4)}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        await upgrade(_pg_url(name))
        yield _pg_url(name)
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["fake", DEVNET_BACKEND])
async def world(
    request: pytest.FixtureRequest, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    gateway_key = PrivateKey.from_hex(settings.secret("gateway_signing_key"))
    async with contextlib.AsyncExitStack() as stack:
        backend: Backend
        if request.param == "fake":
            fake = FakeBackend()
            await fake.prepare(gateway_key)
            backend = fake
        else:
            from tests.chain_fixtures import prepare_chain_env

            assert DEVNET_URL is not None
            env = await prepare_chain_env(settings.secret("gateway_signing_key"))
            client = await stack.enter_async_context(StacksApiClient(DEVNET_URL, timeout=30))
            backend = DevnetBackend(env, client)
        url = await stack.enter_async_context(
            fresh_database(settings, tmp_path_factory.mktemp(f"scenarios-{request.param}"))
        )
        own = settings.model_copy(
            update={"database_url": url, "test_gateway_contract": backend.contract_id}
        )
        world = World(backend, own, stack)
        await world.start()
        yield world


# --- scenarios ------------------------------------------------------------------------------------


async def test_a_paid_intent_succeeds_with_the_amount_received(world: World) -> None:
    shop = await world.shop()
    pi = await world.confirmed(shop)
    txid = await world.backend.pay(call_of(pi))
    await world.round()
    pending = await world.intent(shop, pi)
    assert (pending["status"], pending["amount_received"]) == ("processing", 0)
    world.backend.mine()
    await world.round()
    done = await world.intent(shop, pi)
    assert (done["status"], done["amount_received"]) == ("succeeded", AMOUNT)
    assert done["next_action"] is None
    tx = await world.tx(txid)
    assert tx.status is TxStatus.SUCCESS
    assert (done["sbtc"]["txid"], done["sbtc"]["block_height"]) == (tx.tx_id, tx.block_height)
    await world.round()  # another round changes nothing
    assert (await world.events(pi["id"])).count("payment_intent.succeeded") == 1


async def short_payment(world: World, *, seen_pending: bool) -> None:
    shop = await world.shop()
    pi = await world.confirmed(shop, payer=world.backend.poor_payer)
    txid = await world.backend.pay(call_of(pi), wallet="poor_payer")
    if seen_pending:
        await world.round()
        assert (await world.intent(shop, pi))["status"] == "processing"
    world.backend.mine()
    await world.round()
    tx = await world.tx(txid)
    assert (tx.status, tx.tx_result_repr) == (TxStatus.ABORT_BY_RESPONSE, "(err u115)")
    failed = await world.intent(shop, pi)
    assert (failed["status"], failed["amount_received"]) == ("requires_payment_method", 0)
    assert failed["last_payment_error"]["code"] == "insufficient_funds"


async def test_a_short_balance_is_reported_as_insufficient_funds(world: World) -> None:
    await short_payment(world, seen_pending=False)


async def test_a_short_payment_seen_in_the_mempool_first_is_reported(world: World) -> None:
    """A payment seen pending, then aborted: the abort is its own inbox fact (the two used to
    share one row, so the intent stayed `processing`)."""
    await short_payment(world, seen_pending=True)


async def test_paying_after_the_expiry_height_fails(world: World) -> None:
    # a gateway that gives every intent one block of lifetime: the call expires at tip + 1
    quick = await world.gateway(stacks_block_time_seconds=7 * 24 * 3600.0)
    shop = await world.shop()
    pi = await world.confirmed(Merchant(quick, shop.body))
    call = call_of(pi)
    assert call["expires_at_block"] == await world.tip() + 1
    world.backend.mine()  # the expiry height is reached: no longer payable
    txid = await world.backend.pay(call)
    world.backend.mine()
    await world.round()
    failed = await world.intent(shop, pi)
    assert failed["status"] == "requires_payment_method"
    assert failed["last_payment_error"]["code"] == "payment_expired"
    assert (await world.tx(txid)).tx_result_repr == "(err u110)"


async def test_paying_twice_credits_once(world: World) -> None:
    shop = await world.shop()
    before = await world.balance(world.backend.payer)
    pi = await world.confirmed(shop)
    call = call_of(pi)
    first = await world.backend.pay(call)
    world.backend.mine()
    await world.round()
    assert (await world.intent(shop, pi))["status"] == "succeeded"
    second = await world.backend.pay(call)  # the same signed call, once more
    world.backend.mine()
    await world.round()
    again = await world.intent(shop, pi)
    assert (again["status"], again["amount_received"]) == ("succeeded", AMOUNT)
    assert again["last_payment_error"] is None
    assert again["sbtc"]["txid"] == first
    tx = await world.tx(second)
    assert (tx.status, tx.tx_result_repr) == (TxStatus.ABORT_BY_RESPONSE, "(err u109)")
    assert (await world.events(pi["id"])).count("payment_intent.succeeded") == 1
    assert await world.balance(world.backend.payer) == before - AMOUNT


async def test_a_partial_refund_paid_by_the_merchant_wallet_succeeds(world: World) -> None:
    shop = await world.shop()
    done, _ = await world.paid(shop)
    payer = await world.balance(world.backend.payer)
    merchant = await world.balance(world.backend.merchant)
    response = await shop.post("/v1/refunds", {"payment_intent": done["id"], "amount": 10_000})
    assert response.status_code == 200, response.text
    refund = response.json()
    assert (refund["status"], refund["amount"]) == ("requires_action", 10_000)
    call = call_of(refund)
    assert (call["function_name"], call["post_condition_mode"]) == ("refund-payment", "deny")
    txid = await world.backend.pay(call, wallet="merchant")
    world.backend.mine()
    await world.round()
    settled = (await shop.get(f"/v1/refunds/{refund['id']}")).json()
    assert settled["status"] == "succeeded"
    assert settled["sbtc"]["txid"] == txid
    assert await world.balance(world.backend.payer) == payer + 10_000
    assert await world.balance(world.backend.merchant) == merchant - 10_000
    record = await world.read("get-signed-intent", StringAscii(done["id"]))
    assert (record["status"], record["refunded"]) == ("paid", 10_000)


async def test_a_payment_moves_the_money_the_contract_says(world: World) -> None:
    """The fee goes straight to the fee recipient in the customer's own transaction (ADR
    0100): nothing stays in the contract, and no `distribute-fees` is needed."""
    backend = world.backend
    shop = await world.shop()
    holders = (backend.payer, backend.merchant, backend.fee_recipient, backend.contract_id)
    before = [await world.balance(h) for h in holders]
    config = await world.read("get-config")
    totals = await world.read("get-merchant-totals", principal(backend.merchant))
    done, txid = await world.paid(shop)
    fee = done["application_fee_amount"]
    assert fee > 0
    after = [await world.balance(h) for h in holders]
    assert [a - b for a, b in zip(after, before, strict=True)] == [-AMOUNT, AMOUNT - fee, fee, 0]
    now = await world.read("get-config")
    assert now["fees-pending"] == config["fees-pending"]
    assert await world.read("get-merchant-totals", principal(backend.merchant)) == {
        "processed": totals["processed"] + AMOUNT,
        "received": totals["received"] + AMOUNT - fee,
        "payments": totals["payments"] + 1,
    }
    # the contract holds exactly the fees it owes (ADR 0100)
    assert await world.balance(backend.contract_id) == now["fees-pending"]
    record = await world.read("get-signed-intent", StringAscii(done["id"]))
    assert (record["amount"], record["fee"], record["customer"]) == (AMOUNT, fee, backend.payer)
    assert (record["fee-recipient"], record["fee-held"]) == (backend.fee_recipient, False)
    assert (done["sbtc"]["fee_status"], done["sbtc"]["fee_txid"]) == ("distributed", txid)
    assert await distribute_fees(world) == 0  # nothing is held: nothing to send
    rows = (await shop.get("/v1/balance_transactions", {"source": done["latest_charge"]})).json()
    assert [(r["type"], r["net"]) for r in rows["data"]] == [("charge", AMOUNT - fee)]


async def test_the_operator_distributes_a_held_fee(world: World) -> None:
    """The fee recipient paying an intent itself: the token cannot move the fee to its own
    sender, so the contract holds it, and the operator's `distribute-fees` pays it out."""
    backend = world.backend
    shop = await world.shop()
    pi = await world.confirmed(shop, payer=backend.fee_recipient)
    await backend.pay(call_of(pi), wallet="fee_recipient")
    backend.mine()
    await world.round()
    done = await world.intent(shop, pi)
    assert (done["status"], done["sbtc"]["fee_status"]) == ("succeeded", None)
    assert (await world.read("get-signed-intent", StringAscii(done["id"])))["fee-held"]
    pending = (await world.read("get-config"))["fees-pending"]
    assert pending >= done["application_fee_amount"]
    recipient = await world.balance(backend.fee_recipient)
    assert await distribute_fees(world) >= 1
    backend.mine()
    await world.round()
    assert (await world.intent(shop, done))["sbtc"]["fee_status"] == "distributed"
    assert (await world.read("get-signed-intent", StringAscii(done["id"])))["fee-distributed"]
    left = (await world.read("get-config"))["fees-pending"]
    paid_out = pending - left
    assert paid_out >= done["application_fee_amount"]
    assert await world.balance(backend.fee_recipient) == recipient + paid_out
    assert await world.balance(backend.contract_id) == left


# --- confirm reads the contract before it hands out a call ---------------------------------------


async def owner_call(world: World, function: str, *args: Any) -> None:
    """The contract owner's transaction (pause, suspend-merchant, …), mined."""
    service = StacksBlockchainService(world.backend.source, DEVNET, world.backend.operator)
    sent = await service.call_contract_function(
        world.backend.contract_id, function, list(args), fee=10_000
    )
    world.backend.mine()
    assert (await world.tx(sent.txid)).status is TxStatus.SUCCESS
    for app in world.apps:
        app.state.gateway.payments.tips.forget()  # read the contract now


async def refused(world: World, shop: Merchant) -> dict[str, Any]:
    pi = await shop.create_intent(
        AMOUNT,
        **{
            "payment_method_data[type]": "sbtc",
            "payment_method_data[sbtc][payer]": world.backend.payer,
        },
    )
    response = await shop.post(f"/v1/payment_intents/{pi['id']}/confirm")
    assert (await world.intent(shop, pi))["status"] == "requires_confirmation"
    body: dict[str, Any] = response.json()
    return {"status": response.status_code, **body["error"]}


async def test_confirm_refuses_while_the_contract_is_paused(world: World) -> None:
    shop = await world.shop()
    await owner_call(world, "pause")
    try:
        error = await refused(world, shop)
    finally:
        await owner_call(world, "unpause")
    assert (error["status"], error["code"]) == (503, "contract_paused")
    await world.confirmed(shop)  # and confirms again once unpaused


async def test_confirm_refuses_a_payout_address_suspended_on_chain(world: World) -> None:
    shop = await world.shop()
    await owner_call(world, "suspend-merchant", principal(world.backend.merchant))
    try:
        error = await refused(world, shop)
    finally:
        await owner_call(world, "reinstate-merchant", principal(world.backend.merchant))
    assert (error["status"], error["code"]) == (400, "payout_address_suspended")
    assert world.backend.merchant in error["message"]
    await world.confirmed(shop)


async def test_confirm_refuses_when_the_contract_does_not_hold_our_key(world: World) -> None:
    other = await world.gateway(gateway_signing_key=SecretStr("22" * 32))
    shop = Merchant(other, (await world.shop()).body)
    error = await refused(world, shop)
    assert (error["status"], error["code"]) == (503, "gateway_key_mismatch")


# --- reorgs: chain-level facts only ---------------------------------------------------------------


async def test_a_reorg_re_mines_the_payment(world: World) -> None:
    shop = await world.shop()
    pi = await world.confirmed(shop)
    before = await world.balance(world.backend.payer)
    txid = await world.backend.pay(call_of(pi))
    world.backend.mine()
    first = await world.tx(txid)
    assert first.status is TxStatus.SUCCESS
    assert first.block_height is not None
    world.backend.reorg(await world.tip() - first.block_height + 1)
    assert (await world.tx(txid)).status is TxStatus.PENDING
    assert await world.balance(world.backend.payer) == before
    world.backend.mine()
    again = await world.tx(txid)
    assert (again.status, again.block_height) == (TxStatus.SUCCESS, first.block_height)
    assert again.block_hash != first.block_hash
    assert await world.balance(world.backend.payer) == before - AMOUNT


async def test_a_payment_lost_across_a_fork_is_dropped(world: World) -> None:
    shop = await world.shop()
    pi = await world.confirmed(shop)
    before = await world.balance(world.backend.payer)
    txid = await world.backend.pay(call_of(pi))
    world.backend.mine()
    mined = await world.tx(txid)
    assert mined.block_height is not None
    world.backend.reorg(await world.tip() - mined.block_height + 1, drop=[txid])
    world.backend.mine()
    lost = await world.tx(txid)
    assert (lost.status, lost.block_height) == (TxStatus.DROPPED_REPLACE_ACROSS_FORK, None)
    assert await world.balance(world.backend.payer) == before
    assert await world.read("get-signed-intent", StringAscii(pi["id"])) is None
    nonces = await world.backend.source.get_nonces(world.backend.payer)
    assert nonces.possible_next_nonce == mined.nonce  # the wallet's nonce is free again


# --- the fake's answers have the devnet's shapes --------------------------------------------------


def shape(value: Any) -> Any:
    """The JSON's structure: keys and value types (a list: the distinct shapes of its items)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(shape(v), sort_keys=True) for v in value})
    return type(value).__name__


async def answers(
    http: httpx.AsyncClient, backend: Any, payer: PrivateKey, gateway_key: PrivateKey
) -> dict[str, Any]:
    """The same requests on one backend: every endpoint the gateway reads, after a payment, a
    post-condition abort, a second payment of the same intent, a pending and a lost one."""
    tip = (await http.get("/v2/info")).json()["stacks_tip_height"]
    octets = {"content-type": "application/octet-stream"}

    def call(n: int) -> dict[str, Any]:
        return contract_call(
            network=DEVNET,
            contract_id=backend.contract_id,
            key=gateway_key,
            intent_id=f"pi_shape_{secrets.token_hex(6)}_{n}",
            merchant=backend.merchant,
            payer=backend.payer,
            amount=AMOUNT,
            fee=250,
            expires_at_block=tip + 100,
        )

    async def send(c: dict[str, Any], nonce: int) -> httpx.Response:
        raw = signed_call(c, payer, nonce=nonce).serialize()
        return await http.post("/v2/transactions", content=raw, headers=octets)

    nonce = (await http.get(f"/extended/v1/address/{backend.payer}/nonces")).json()
    nonce = nonce["possible_next_nonce"]
    first, broken = call(1), call(2)
    broken["post_conditions"] = [
        ft_post_condition(backend.payer, "eq", 1, DEVNET.sbtc_asset_id).to_hex()
    ]
    sent = [(await send(c, nonce + i)).json() for i, c in enumerate((first, broken, first))]
    backend.mine()
    height = (await http.get("/v2/info")).json()["stacks_tip_height"]
    pending = (await send(call(4), nonce + 3)).json()
    contract = backend.contract_id
    address, name = contract.split(".")
    requests: dict[str, tuple[str, str, Any]] = {
        "info": ("GET", "/v2/info", None),
        "account": ("GET", f"/v2/accounts/{backend.payer}?proof=0", None),
        "nonces": ("GET", f"/extended/v1/address/{backend.payer}/nonces", None),
        "tx success": ("GET", f"/extended/v1/tx/0x{sent[0]}", None),
        "tx post-condition abort": ("GET", f"/extended/v1/tx/0x{sent[1]}", None),
        "tx response abort": ("GET", f"/extended/v1/tx/0x{sent[2]}", None),
        "tx pending": ("GET", f"/extended/v1/tx/0x{pending}", None),
        "tx unknown": ("GET", f"/extended/v1/tx/0x{'00' * 32}", None),
        "mempool": ("GET", "/extended/v1/tx/mempool", None),
        "block": ("GET", f"/extended/v2/blocks/{height}", None),
        "block transactions": ("GET", f"/extended/v2/blocks/{height}/transactions", None),
        "logs": ("GET", f"/extended/v2/smart-contracts/{contract}/logs?limit=1", None),
        "read-only": (
            "POST",
            f"/v2/contracts/call-read/{address}/{name}/get-config",
            {"sender": backend.payer, "arguments": []},
        ),
        "map entry": (
            "POST",
            f"/v2/map_entry/{address}/{name}/merchants?proof=0",
            principal(backend.merchant).to_hex(),
        ),
        "data var": ("GET", f"/v2/data_var/{address}/{name}/fees-pending?proof=0", None),
        "fee estimate": ("POST", "/v2/fees/transaction", {"transaction_payload": "0x02"}),
    }
    out: dict[str, Any] = {}
    for label, (method, path, body) in requests.items():
        response = await http.request(method, path, json=body)
        out[label] = (response.status_code, shape(response.json()))
    stale = await send(call(5), nonce)
    out["rejection"] = (stale.status_code, shape(stale.json()))
    backend.mine()
    backend.reorg(1, drop=[pending])
    lost = await http.get(f"/extended/v1/tx/0x{pending}")
    out["tx lost across a fork"] = (lost.status_code, shape(lost.json()))
    return out


@pytest.mark.devnet
@pytest.mark.skipif(not DEVNET_URL, reason="no devnet (STACKS_DEVNET_URL)")
async def test_the_fake_answers_with_the_devnets_shapes(sqlite_settings: Settings) -> None:
    from tests.chain_fixtures import prepare_chain_env
    from tests.fakes.chain_api import HiroApi

    assert DEVNET_URL is not None
    gateway_key_hex = sqlite_settings.secret("gateway_signing_key")
    fake = FakeBackend()
    await fake.prepare(PrivateKey.from_hex(gateway_key_hex))
    env = await prepare_chain_env(gateway_key_hex)
    transport = httpx.MockTransport(HiroApi(fake.chain).handle)
    async with (
        StacksApiClient(DEVNET_URL, timeout=30) as client,
        httpx.AsyncClient(base_url=DEVNET_URL, timeout=60) as devnet_http,
        httpx.AsyncClient(transport=transport, base_url="http://fakechain.invalid") as fake_http,
    ):
        devnet = DevnetBackend(env, client)
        gateway_key = PrivateKey.from_hex(gateway_key_hex)
        from_fake = await answers(fake_http, fake, fake.keys["payer"], gateway_key)
        payer = PrivateKey.from_hex(env.payer_key)
        from_devnet = await answers(devnet_http, devnet, payer, gateway_key)
    assert from_fake.keys() == from_devnet.keys()
    for label, want in from_devnet.items():
        assert from_fake[label] == want, label


# --- the money model: reorgs, lost payments and the ledger (ADR 0010, 0011) --------------------


def fake_only(world: World) -> FakeChain:
    if not isinstance(world.backend, FakeBackend):
        pytest.skip(
            "the devnet re-mines every rolled-back transaction (and is shared: its totals "
            "include other tests' payments)"
        )
    return world.backend.chain


async def charge_of(world: World, shop: Merchant, pi: dict[str, Any]) -> dict[str, Any]:
    intent = await world.intent(shop, pi)
    response = await shop.get(f"/v1/charges/{intent['latest_charge']}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_reorged_payment_stays_succeeded_and_is_not_announced_twice(world: World) -> None:
    shop = await world.shop()
    done, txid = await world.paid(shop)
    block = (await world.tx(txid)).block_height
    assert block is not None
    world.backend.reorg(await world.tip() - block + 1)
    result = await world.round()
    assert result.rolled_back == 1
    assert (await world.intent(shop, done))["status"] == "succeeded"
    waiting = (await charge_of(world, shop, done))["payment_method_details"]["sbtc"]
    assert (waiting["confirmations"], waiting["block_hash"]) == (0, None)
    world.backend.mine()
    await world.round()
    back = (await charge_of(world, shop, done))["payment_method_details"]["sbtc"]
    assert back["confirmations"] >= 1
    assert back["reorged_at"] is None
    events = await world.events(done["id"])
    assert events.count("payment_intent.succeeded") == 1
    assert "payment_intent.processing" not in events[events.index("payment_intent.succeeded") :]


async def test_a_payment_not_mined_again_within_the_window_is_reversed(world: World) -> None:
    chain = fake_only(world)
    shop = await world.shop()
    done, txid = await world.paid(shop)
    block = (await world.tx(txid)).block_height
    assert block is not None
    chain.held.add(txid)  # back in the mempool, and no miner takes it
    world.backend.reorg(await world.tip() - block + 1)
    await world.round()
    window = world.watcher.target.reinclusion_blocks
    world.backend.mine(window - 1)
    await world.round()
    assert (await world.intent(shop, done))["status"] == "succeeded"  # still waiting
    world.backend.mine()
    result = await world.round()
    assert result.reversed == 1
    lost = await world.intent(shop, done)
    told = (await shop.get("/v1/events", {"type": "payment_intent.payment_reversed"})).json()
    [reversal] = [e for e in told["data"] if e["data"]["object"]["id"] == done["id"]]
    error = reversal["data"]["object"]["last_payment_error"]
    assert error["code"] == "payment_reversed"
    assert f"within {window} blocks" in error["message"]
    charge = (await shop.get(f"/v1/charges/{done['latest_charge']}")).json()
    assert (charge["status"], charge["failure_code"]) == ("failed", "payment_reversed")
    events = await world.events(done["id"])
    assert "payment_intent.payment_reversed" in events
    # The transaction is still in the mempool, so the intent shows it as `processing` again; if
    # a miner takes it after all, the money moves and the payment succeeds a second time (after
    # the merchant was told of the reversal), with a new `charge` row in the ledger.
    assert lost["status"] == "processing"
    chain.held.discard(txid)
    world.backend.mine()
    await world.round()
    assert (await world.intent(shop, done))["status"] == "succeeded"
    rows = (await shop.get("/v1/balance_transactions", {"source": charge["id"]})).json()["data"]
    assert sorted(r["type"] for r in rows) == ["charge", "charge", "payment_reversal"]
    assert sum(r["net"] for r in rows) == AMOUNT - done["application_fee_amount"]


async def test_a_payment_after_cancel_is_paid_late(world: World) -> None:
    shop = await world.shop()
    pi = await world.confirmed(shop)
    canceled = await shop.post(f"/v1/payment_intents/{pi['id']}/cancel")
    assert canceled.json()["status"] == "canceled"
    txid = await world.backend.pay(call_of(pi))
    world.backend.mine()
    await world.round()
    late = await world.intent(shop, pi)
    assert late["status"] == "canceled"
    record = late["sbtc"]["late_payment"]
    assert (record["txid"], record["amount"]) == (txid, AMOUNT)
    owed = (await shop.get(f"/v1/refunds/{record['refund']}")).json()
    assert (owed["status"], owed["reason"], owed["amount"]) == (
        "requires_action",
        "paid_late",
        AMOUNT,
    )
    assert owed["next_action"]["sbtc_contract_call"]["function_name"] == "refund-payment"
    assert "payment_intent.paid_late" in await world.events(pi["id"])


async def test_a_refund_call_has_the_payments_shape(world: World) -> None:
    shop = await world.shop()
    done, _ = await world.paid(shop)
    pay_keys = set(call_of(await world.confirmed(shop)))
    refund = await shop.post("/v1/refunds", {"payment_intent": done["id"], "amount": 1_000})
    assert refund.status_code == 200, refund.text
    call = refund.json()["next_action"]["sbtc_contract_call"]
    assert set(call) == pay_keys - {"gateway_public_key"}
    assert (call["payer"], call["recipient"]) == (world.backend.merchant, world.backend.payer)
    assert call["contract_address"] + "." + call["contract_name"] == world.backend.contract_id
    assert done["sbtc"]["payer"] == world.backend.payer  # who paid shows on the intent


async def test_the_ledger_equals_the_chain(world: World) -> None:
    """After everything the scenarios above did on this chain (payments, refunds, reorgs, a
    lost payment, fee distribution), the ledger's sums are the contract's counters, exactly."""
    from sbtc_gateway.ledger import reconcile

    fake_only(world)
    await world.paid(await world.shop())  # at least one payment, even when run alone
    for _ in range(3):  # whatever is still in the mempool is mined and seen
        world.backend.mine()
        await world.round()
    report = await reconcile.reconcile(
        world.state.sessions,
        world.backend.source,
        network="devnet",
        contract_id=world.backend.contract_id,
        livemode=False,
    )
    assert report.settled
    assert report.differences == []
    assert report.checked >= 2
    config = await world.read("get-config")
    assert await world.balance(world.backend.contract_id) == config["fees-pending"]


async def test_a_late_payment_lost_in_a_reorg_owes_nothing(world: World) -> None:
    chain = fake_only(world)
    shop = await world.shop()
    pi = await world.confirmed(shop)
    await shop.post(f"/v1/payment_intents/{pi['id']}/cancel")
    txid = await world.backend.pay(call_of(pi))
    world.backend.mine()
    await world.round()
    record = (await world.intent(shop, pi))["sbtc"]["late_payment"]
    block = (await world.tx(txid)).block_height
    assert block is not None
    chain.held.add(txid)
    try:
        world.backend.reorg(await world.tip() - block + 1)
        await world.round()
        world.backend.mine(world.watcher.target.reinclusion_blocks)
        assert (await world.round()).reversed == 1
    finally:
        chain.held.discard(txid)
        chain.mempool.remove(txid)  # it never comes back
    after = await world.intent(shop, pi)
    assert after["status"] == "canceled"
    assert after["amount_received"] == 0
    assert "not mined again" in after["sbtc"]["late_payment"]["reversed"]
    owed = (await shop.get(f"/v1/refunds/{record['refund']}")).json()
    assert owed["status"] == "canceled"
    rows = (await shop.get("/v1/balance_transactions", {"source": record["charge"]})).json()
    assert sum(r["net"] for r in rows["data"]) == 0
