"""The operator account's transactions, on the devnet: each is broadcast at most once, however
many workers run, whatever crashes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.chain import (
    DEVNET,
    StacksApiClient,
    StacksBlockchainService,
    StringAscii,
    TransactionInfo,
    deserialize,
)
from sbtc_gateway.chain.clarity import ClarityValue
from sbtc_gateway.chain.service import BroadcastResult
from sbtc_gateway.config import Settings
from sbtc_gateway.db.engine import make_engine, make_sessionmaker
from sbtc_gateway.watcher.runner import Watcher
from tests.conftest import ServerThread
from tests.test_payments_chain import (
    CONTRACT,
    DEVNET_URL,
    ChainEnv,
    new_intent,
    prepare_chain_env,
    run_until,
    sign_up_shop,
    status_is,
    target,
)
from tests.test_payments_chain import pytestmark as chain_marks

pytestmark = chain_marks
FEES = "distribute-fees"


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
    assert DEVNET_URL is not None
    async with StacksApiClient(DEVNET_URL, timeout=30) as client:
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


def _postgres_only(settings: Settings) -> None:
    if settings.resolved_database_url.startswith("sqlite"):
        pytest.skip("two workers at once: PostgreSQL only (SQLite has a single writer)")


async def operator_calls(
    api: StacksApiClient, operator: str, function: str, intent_ids: Sequence[str]
) -> dict[str, list[TransactionInfo]]:
    """Mined transactions of the operator account calling `function` for these intents."""
    wanted = set(intent_ids)
    found: dict[str, list[TransactionInfo]] = {i: [] for i in wanted}
    offset = 0
    while True:
        page = await api.get_address_transactions(operator, limit=50, offset=offset)
        for tx in page.transactions:
            call = tx.raw.get("contract_call") or {}
            if tx.sender_address != operator or call.get("function_name") != function:
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
    await watcher.run_round()
    intents = [new_intent(shop, env, amount=20_000 + 1_000 * i) for i in range(count)]
    for pi in intents:
        env.pay(pi.next_action["sbtc_contract_call"].to_dict())
    for pi in intents:
        await run_until(watcher, env, status_is(shop, pi.id, "succeeded"), what="succeeded")
    return intents


async def mine_until_settled(env: ChainEnv, api: StacksApiClient, operator: str) -> None:
    for _ in range(50):
        if (await api.get_nonces(operator)).last_mempool_tx_nonce is None:
            return
        env.mine()
        await asyncio.sleep(0.05)
    raise AssertionError("the operator's transactions were not mined")


class OverlappingScans:
    """Today's fee job in two workers whose scans overlap: each has read the intent before the
    other records its call (a barrier), then they broadcast one after the other."""

    def __init__(self, service: StacksBlockchainService, both: asyncio.Barrier, turn: asyncio.Lock):
        self.network = service.network
        self._service = service
        self._both = both
        self._turn = turn

    async def call_contract_function(
        self, contract_id: str, function_name: str, args: Sequence[ClarityValue], **kw: Any
    ) -> BroadcastResult:
        await self._both.wait()
        async with self._turn:
            return await self._service.call_contract_function(
                contract_id, function_name, args, **kw
            )


async def test_two_workers_send_one_fee_call_per_intent(
    settings: Settings,
    merchant_shop: stripe.StripeClient,
    env: ChainEnv,
    follower: Watcher,
    db: async_sessionmaker[AsyncSession],
    stacks: StacksApiClient,
) -> None:
    from sbtc_gateway.payments.fees import FeeJob, distribute_fees

    _postgres_only(settings)
    operator = env.deployer.address(DEVNET.single_sig_version)
    (pi,) = await paid_intents(merchant_shop, env, follower, 1)
    both, turn = asyncio.Barrier(2), asyncio.Lock()
    workers = [
        OverlappingScans(StacksBlockchainService(stacks, DEVNET, env.deployer), both, turn)
        for _ in range(2)
    ]
    await asyncio.gather(
        *(
            distribute_fees(db, w, FeeJob(CONTRACT, False, batch=25))  # type: ignore[arg-type]
            for w in workers
        )
    )
    await mine_until_settled(env, stacks, operator)
    sent = await operator_calls(stacks, operator, FEES, [pi.id])
    assert len(sent[pi.id]) == 1, [t.tx_id for t in sent[pi.id]]
