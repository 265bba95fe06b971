"""The operator account's transactions, on the devnet: each is broadcast at most once, however
many workers run and wherever one dies (ADR 0012).

Intents are paid as in tests/watcher/test_devnet.py (a stacks.js wallet, the watcher run round
by round). The worker step runs in the test with a clock the test moves, so leases and re-checks
expire when the test says so, not after real seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
import stripe
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.chain import (
    DEVNET,
    NonceInfo,
    StacksApiClient,
    StringAscii,
    TransactionInfo,
    deserialize,
    deserialize_transaction,
    make_token_transfer,
)
from sbtc_gateway.config import Settings
from sbtc_gateway.db.engine import make_engine, make_sessionmaker
from sbtc_gateway.operator import repository as operator_repo
from sbtc_gateway.operator import service as operator
from sbtc_gateway.operator import worker as outbox
from sbtc_gateway.operator.models import OperatorCall
from sbtc_gateway.operator.state import CallStatus
from sbtc_gateway.payments import fees
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.watcher.decode import py
from sbtc_gateway.watcher.runner import Watcher
from tests.chain_fixtures import CHAIN_MARKS as chain_marks
from tests.chain_fixtures import (
    CONTRACT,
    ChainEnv,
    devnet_url,
    fee_settings,
    new_intent,
    prepare_chain_env,
    run_until,
    sign_up_shop,
    status_is,
    target,
)
from tests.conftest import OTHER_ADDRESS, ServerThread

pytestmark = chain_marks
FEES, REVOKE = "distribute-fees", "revoke-signed-intent"
CONFIG = outbox.OperatorConfig(batch=25)
ROUNDS = 40  # bound on worker rounds in a loop (each mines a block): never a time limit


class Clock:
    """The worker step's clock: moved by the test, so a lease ends when the test says."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def past_leases(self) -> None:
        self.now += max(CONFIG.lease_seconds, CONFIG.recheck_seconds) + 1


@pytest.fixture(scope="session")
async def env(settings: Settings) -> ChainEnv:
    return await prepare_chain_env(settings.secret("gateway_signing_key"))


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(settings.resolved_database_url, pool_size=5)
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture(scope="session")
async def stacks() -> AsyncIterator[StacksApiClient]:
    async with StacksApiClient(devnet_url(), timeout=30) as client:
        yield client


@pytest.fixture
def follower(
    settings: Settings,
    db: async_sessionmaker[AsyncSession],
    stacks: StacksApiClient,
    env: ChainEnv,
) -> Watcher:
    return Watcher(db, target(settings), stacks, poll_interval=0.1, reconcile_every=1)


@pytest.fixture
def merchant_shop(live_server: ServerThread, env: ChainEnv) -> stripe.StripeClient:
    return sign_up_shop(live_server.url, env.merchant)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def account(env: ChainEnv) -> outbox.OperatorAccount:
    return outbox.OperatorAccount(DEVNET, env.deployer)


def operator_address(env: ChainEnv) -> str:
    return account(env).sender


def _postgres_only(settings: Settings) -> None:
    if settings.resolved_database_url.startswith("sqlite"):
        pytest.skip("two workers at once: PostgreSQL only (SQLite has a single writer)")


async def enqueue_fees(db: async_sessionmaker[AsyncSession]) -> int:
    async with db.begin() as session:
        return await fees.enqueue_fee_calls(session, fee_settings(), livemode=False, batch=25)


async def work(
    db: async_sessionmaker[AsyncSession],
    chain: outbox.OperatorChain,
    env: ChainEnv,
    clock: Clock,
    name: str = "worker-a",
    config: outbox.OperatorConfig = CONFIG,
) -> outbox.RunResult:
    return await outbox.run_once(
        db,
        chain,
        account(env),
        worker_id=name,
        config=config,
        on_change=fees.record_call,
        clock=clock,
    )


async def open_calls(db: async_sessionmaker[AsyncSession]) -> int:
    async with db() as session:
        return await operator_repo.open_count(session, "devnet")


async def drain(
    db: async_sessionmaker[AsyncSession], stacks: StacksApiClient, env: ChainEnv, clock: Clock
) -> None:
    """Send and settle every call other tests left in this database, so that what a test then
    sends and measures is its own."""
    for _ in range(ROUNDS):
        queued = await enqueue_fees(db)
        await work(db, stacks, env, clock, name="drain")
        env.mine()
        clock.past_leases()
        if not queued and not await open_calls(db):
            return
    raise AssertionError("operator calls left open")


async def calls_of(db: async_sessionmaker[AsyncSession], intent_id: str) -> list[OperatorCall]:
    async with db() as session:
        return await operator.calls_for_intent(session, intent_id)


async def operator_txs(
    api: StacksApiClient, operator_: str, function: str, intent_ids: Sequence[str]
) -> dict[str, list[TransactionInfo]]:
    """Mined transactions of the operator account calling `function` for these intents."""
    wanted = set(intent_ids)
    found: dict[str, list[TransactionInfo]] = {i: [] for i in wanted}
    offset = 0
    while True:
        page = await api.get_address_transactions(operator_, limit=50, offset=offset)
        for tx in page.transactions:
            call = tx.raw.get("contract_call") or {}
            if tx.sender_address != operator_ or call.get("function_name") != function:
                continue
            args = call.get("function_args") or []
            intent = deserialize(bytes.fromhex(args[-1]["hex"].removeprefix("0x")))
            if isinstance(intent, StringAscii) and intent.text in wanted:
                found[intent.text].append(tx)
        offset += len(page.transactions)
        if not page.transactions or (page.total is not None and offset >= page.total):
            return found


async def paid_intents(
    shop: stripe.StripeClient, env: ChainEnv, watcher: Watcher, count: int
) -> list[Any]:
    """Intents paid by the fee recipient (the deployer): the only payments whose fee the
    contract holds for `distribute-fees` (any other payer pays it to the recipient itself)."""
    await watcher.run_round()
    recipient = env.deployer.address(DEVNET.single_sig_version)
    intents = [
        new_intent(shop, env, amount=20_000 + 1_000 * i, payer=recipient) for i in range(count)
    ]
    for pi in intents:
        env.pay(pi.next_action["sbtc_contract_call"].to_dict(), key=env.deployer_key_hex)
    for pi in intents:
        await run_until(watcher, env, status_is(shop, pi.id, "succeeded"), what="succeeded")
    return intents


async def fees_pending(api: StacksApiClient) -> int:
    config = py(await api.call_read_only(CONTRACT, "get-config"))
    return int(config["fees-pending"])


async def settle(
    db: async_sessionmaker[AsyncSession],
    stacks: StacksApiClient,
    env: ChainEnv,
    clock: Clock,
    intent_ids: Sequence[str],
    function: str = FEES,
) -> list[OperatorCall]:
    """Mine and follow until these intents' calls are final; returns them."""
    for _ in range(ROUNDS):
        env.mine()
        clock.past_leases()
        await work(db, stacks, env, clock, name="settler")
        found = [c for i in intent_ids for c in await calls_of(db, i) if c.function == function]
        if len(found) == len(intent_ids) and all(c.status == "confirmed" for c in found):
            return found
    raise AssertionError(f"calls not confirmed: {[(c.id, c.status) for c in found]}")


async def fee_state(db: async_sessionmaker[AsyncSession], intent_id: str) -> tuple[Any, Any]:
    async with db() as session:
        pi = await session.get(PaymentIntent, intent_id)
        assert pi is not None
        return pi.fee_status, pi.fee_txid


# --- two workers ----------------------------------------------------------------------------------


async def test_two_workers_send_one_fee_call_per_intent(
    settings: Settings,
    merchant_shop: stripe.StripeClient,
    env: ChainEnv,
    follower: Watcher,
    db: async_sessionmaker[AsyncSession],
    stacks: StacksApiClient,
    clock: Clock,
) -> None:
    _postgres_only(settings)
    await drain(db, stacks, env, clock)
    intents = await paid_intents(merchant_shop, env, follower, 4)
    ids = [pi.id for pi in intents]
    before = await fees_pending(stacks)
    # Small batches, so each worker claims some of the calls and both take nonces.
    small = outbox.OperatorConfig(batch=2)

    signed: dict[str, int] = {}

    async def worker(name: str) -> None:
        for _ in range(3):
            await enqueue_fees(db)
            result = await work(db, stacks, env, clock, name=name, config=small)
            signed[name] = signed.get(name, 0) + result.signed

    await asyncio.gather(worker("worker-a"), worker("worker-b"))
    assert sum(signed.values()) == len(ids)
    assert min(signed.values()) > 0  # both took calls, and nonces from the same counter
    calls = await settle(db, stacks, env, clock, ids)

    def distributed() -> bool:
        shown = [merchant_shop.v1.payment_intents.retrieve(i)["sbtc"]["fee_status"] for i in ids]
        return shown == ["distributed"] * len(ids)

    await run_until(follower, env, distributed, what="fees distributed")

    sent = await operator_txs(stacks, operator_address(env), FEES, ids)
    assert {i: len(txs) for i, txs in sent.items()} == dict.fromkeys(ids, 1)
    assert all(txs[0].status.value == "success" for txs in sent.values())
    nonces = sorted(c.nonce for c in calls if c.nonce is not None)
    assert nonces == list(range(nonces[0], nonces[0] + len(ids)))
    assert {c.leased_by for c in calls} == {None}
    assert before - await fees_pending(stacks) == sum(pi.application_fee_amount for pi in intents)
    for call in calls:
        assert (call.txid, call.attempts) == (sent[call.intent_id][0].tx_id, 1)
        assert await fee_state(db, call.intent_id) == ("distributed", call.txid)


# --- crashes --------------------------------------------------------------------------------------


class Killed(Exception):
    """A worker process dying (simulated)."""


class DiesAtBroadcast:
    """The Stacks API as seen by a worker that dies at its first broadcast: before the bytes
    leave (`after_sending=False`) or right after the node took them."""

    def __init__(self, api: StacksApiClient, *, after_sending: bool) -> None:
        self.api = api
        self.after_sending = after_sending

    async def get_nonces(self, principal: str) -> NonceInfo:
        return await self.api.get_nonces(principal)

    async def get_transaction(self, txid: str) -> TransactionInfo:
        return await self.api.get_transaction(txid)

    async def broadcast(self, raw_tx: bytes) -> str:
        if self.after_sending:
            await self.api.broadcast(raw_tx)
        raise Killed


@pytest.mark.parametrize("after_sending", [False, True], ids=["before-sending", "after-sending"])
async def test_a_worker_killed_at_its_broadcast_is_taken_over(
    merchant_shop: stripe.StripeClient,
    env: ChainEnv,
    follower: Watcher,
    db: async_sessionmaker[AsyncSession],
    stacks: StacksApiClient,
    clock: Clock,
    after_sending: bool,
) -> None:
    await drain(db, stacks, env, clock)
    intents = await paid_intents(merchant_shop, env, follower, 2)
    ids = [pi.id for pi in intents]
    await enqueue_fees(db)
    with pytest.raises(Killed):
        await work(db, DiesAtBroadcast(stacks, after_sending=after_sending), env, clock)
    stored = {i: (await calls_of(db, i))[0] for i in ids}
    assert {c.status for c in stored.values()} == {"signed"}  # persisted before the broadcast
    assert all(c.raw_tx and c.txid and c.leased_by == "worker-a" for c in stored.values())
    # Its lease still runs: another worker leaves the calls alone until it ends.
    assert (await work(db, stacks, env, clock, name="worker-b")).broadcast == 0
    clock.past_leases()
    taken_over = await work(db, stacks, env, clock, name="worker-b")
    assert taken_over.broadcast == 2
    assert taken_over.signed == 0  # the stored transactions, not new ones

    calls = await settle(db, stacks, env, clock, ids)
    sent = await operator_txs(stacks, operator_address(env), FEES, ids)
    for call in calls:
        assert [tx.tx_id for tx in sent[call.intent_id]] == [stored[call.intent_id].txid]
        assert call.txid == stored[call.intent_id].txid
        assert call.attempts == 1


# --- a nonce used behind the gateway's back -------------------------------------------------------


class NonceStolen:
    """Just before the gateway's first broadcast, another transaction from the operator account
    takes the same nonce: mined already (the node answers BadNonce) or still in the mempool
    (ConflictingNonceInMempool)."""

    def __init__(self, api: StacksApiClient, env: ChainEnv, *, mined: bool) -> None:
        self.api = api
        self.env = env
        self.mined = mined
        self.stolen: int | None = None

    async def get_nonces(self, principal: str) -> NonceInfo:
        return await self.api.get_nonces(principal)

    async def get_transaction(self, txid: str) -> TransactionInfo:
        return await self.api.get_transaction(txid)

    async def broadcast(self, raw_tx: bytes) -> str:
        if self.stolen is None:
            self.stolen = deserialize_transaction(raw_tx).origin.nonce
            other = make_token_transfer(
                DEVNET, self.env.deployer, OTHER_ADDRESS, 1, nonce=self.stolen, fee=20_000
            )
            await self.api.broadcast(other.serialize())
            if self.mined:
                self.env.mine()
        return await self.api.broadcast(raw_tx)


@pytest.mark.parametrize("mined", [True, False], ids=["BadNonce", "ConflictingNonceInMempool"])
async def test_a_nonce_taken_behind_the_gateways_back_is_recovered(
    merchant_shop: stripe.StripeClient,
    env: ChainEnv,
    follower: Watcher,
    db: async_sessionmaker[AsyncSession],
    stacks: StacksApiClient,
    clock: Clock,
    mined: bool,
) -> None:
    await drain(db, stacks, env, clock)
    intents = await paid_intents(merchant_shop, env, follower, 2)
    ids = [pi.id for pi in intents]
    await enqueue_fees(db)
    thief = NonceStolen(stacks, env, mined=mined)
    first = await work(db, thief, env, clock)
    assert (first.signed, first.broadcast, first.requeued) == (2, 1, 1)
    (refused,) = [c for i in ids for c in await calls_of(db, i) if c.status == "queued"]
    assert (refused.nonce, refused.txid) == (None, None)  # its nonce was given up
    reason = "BadNonce" if mined else "ConflictingNonceInMempool"
    assert reason in (refused.last_error or "")

    calls = await settle(db, stacks, env, clock, ids)
    assert await open_calls(db) == 0  # nothing stuck behind the stolen nonce
    sent = await operator_txs(stacks, operator_address(env), FEES, ids)
    assert {i: len(txs) for i, txs in sent.items()} == dict.fromkeys(ids, 1)
    again = next(c for c in calls if c.id == refused.id)
    assert again.attempts == 2
    assert again.nonce not in (None, thief.stolen)


# --- revoking canceled terms ----------------------------------------------------------------------


async def test_canceling_a_confirmed_intent_revokes_its_terms_on_chain(
    settings: Settings,
    env: ChainEnv,
    db: async_sessionmaker[AsyncSession],
    stacks: StacksApiClient,
    clock: Clock,
) -> None:
    await drain(db, stacks, env, clock)
    async with httpx.AsyncClient(base_url=env.url) as devnet:
        accounts = {a["name"]: a for a in (await devnet.get("/devnet/accounts")).json()}
    owner_key = SecretStr(accounts["deployer"]["private_key"])
    with ServerThread(settings.model_copy(update={"operator_key": owner_key})) as server:
        shop = sign_up_shop(server.url, env.merchant)
        pi = new_intent(shop, env)
        call = pi.next_action["sbtc_contract_call"].to_dict()
        shop.v1.payment_intents.cancel(pi.id)
        # An intent that was never confirmed has no terms on chain: nothing to revoke.
        unconfirmed = shop.v1.payment_intents.create(params={"amount": 5_000, "currency": "sbtc"})
        shop.v1.payment_intents.cancel(unconfirmed.id)
    assert await calls_of(db, unconfirmed.id) == []
    (queued,) = await calls_of(db, pi.id)
    assert (queued.function, queued.status) == (REVOKE, "queued")

    (revoke,) = await settle(db, stacks, env, clock, [pi.id], function=REVOKE)
    sent = await operator_txs(stacks, operator_address(env), REVOKE, [pi.id])
    assert [(tx.tx_id, tx.status.value) for tx in sent[pi.id]] == [(revoke.txid, "success")]
    status = await stacks.call_read_only(CONTRACT, "get-signed-intent-status", [StringAscii(pi.id)])
    assert py(status) == "cancelled"

    paid = env.pay(call)  # the customer's wallet still holds the signed call
    for _ in range(ROUNDS):
        env.mine()
        info = await stacks.get_transaction(paid)
        if info.block_height is not None:
            break
    assert (info.status.value, info.tx_result_repr) == ("abort_by_response", "(err u111)")
    assert CallStatus(revoke.status) is CallStatus.CONFIRMED
