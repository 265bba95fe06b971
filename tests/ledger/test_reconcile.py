"""The books against the real Clarity VM: on a devnet of its own (so no other test's payment
is on it), after payments (their fees paid to the fee recipient in the payment itself, or held
when the recipient paid), partial refunds, a reorg of a block holding a payment and a refund,
a payment lost for good, and the held fees distributed by two workers at once, the ledger's
sums are the chain's balances, to the satoshi (ADR 0010, 0011, 0012, 0100)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sbtc_gateway.chain import DEVNET, StacksApiClient, principal
from sbtc_gateway.config import Settings
from sbtc_gateway.db.migrate import upgrade
from sbtc_gateway.devnet import DevnetProcess
from sbtc_gateway.ledger import reconcile
from sbtc_gateway.operator import worker as outbox
from sbtc_gateway.payments import fees
from sbtc_gateway.runtime.app import create_app
from sbtc_gateway.watcher.decode import py
from sbtc_gateway.watcher.runner import Watcher
from sbtc_gateway.watcher.target import WatchTarget
from tests.chain_fixtures import CHAIN_MARKS, CONTRACT, ChainEnv, prepare_chain_env
from tests.conftest import Merchant, _pg_admin, _pg_url, make_settings, sign_up

pytestmark = CHAIN_MARKS
ROUNDS = 60  # bound on watcher rounds while waiting for one thing (never a time limit)


class Books:
    """A gateway on its own database, a fresh devnet, a watcher run round by round."""

    def __init__(self, env: ChainEnv, app: Any, shop: Merchant, api: StacksApiClient) -> None:
        self.env, self.app, self.api, self.shop = env, app, api, shop
        state = app.state.gateway
        self.state = state
        self.watcher = Watcher(
            state.sessions,
            WatchTarget(DEVNET, CONTRACT, False),
            api,
            after_commit=state.after_commit,
            poll_interval=0,
            reconcile_every=1,
        )

    async def until(self, check: Callable[[], Any], what: str, *, mine: bool = True) -> None:
        for _ in range(ROUNDS):
            if mine:
                await asyncio.to_thread(self.env.mine)
            result = await self.watcher.run_round()
            assert result.error is None, result
            if await check():
                return
        raise AssertionError(f"never: {what}")

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.shop.get(path, params or None)
        assert response.status_code == 200, response.text
        return response.json()

    async def status(self, pi_id: str) -> str:
        status: str = (await self.get(f"/v1/payment_intents/{pi_id}"))["status"]
        return status

    @property
    def recipient(self) -> str:
        """The fee recipient: the deployer (the contract's owner and the operator)."""
        return self.env.deployer.address(DEVNET.single_sig_version)

    async def pay(self, amount: int, *, by_recipient: bool = False) -> tuple[dict[str, Any], str]:
        """Paid by the payer wallet, or by the fee recipient (whose fee the contract holds)."""
        payer = self.recipient if by_recipient else self.env.payer
        pi = await self.shop.create_intent(
            amount,
            **{
                "payment_method_data[type]": "sbtc",
                "payment_method_data[sbtc][payer]": payer,
            },
        )
        confirmed = (await self.shop.post(f"/v1/payment_intents/{pi['id']}/confirm")).json()
        call = confirmed["next_action"]["sbtc_contract_call"]
        key = self.env.deployer_key_hex if by_recipient else self.env.payer_key
        txid = await asyncio.to_thread(self.env.pay, call, key=key)
        return confirmed, txid.removeprefix("0x")

    async def refund(self, pi_id: str, amount: int) -> tuple[dict[str, Any], str]:
        refund = (
            await self.shop.post("/v1/refunds", {"payment_intent": pi_id, "amount": amount})
        ).json()
        call = refund["next_action"]["sbtc_contract_call"]
        txid = await asyncio.to_thread(self.env.pay, call, key=self.env.merchant_key_hex)
        return refund, txid.removeprefix("0x")

    async def sbtc(self, who: str) -> int:
        value = await self.api.call_read_only(DEVNET.sbtc_token, "get-balance", [principal(who)])
        amount = py(value)
        assert isinstance(amount, int)
        return amount

    async def ledger(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            page = await self.get(
                "/v1/balance_transactions",
                limit=100,
                **({"starting_after": after} if after else {}),
            )
            rows += page["data"]
            if not page["has_more"]:
                return rows
            after = page["data"][-1]["id"]


@pytest.fixture
async def books(settings: Settings, tmp_path: Path) -> AsyncIterator[Books]:
    devnet = await asyncio.to_thread(DevnetProcess(port=0, block_time_ms=0).start)
    try:
        url, name = await _database(settings, tmp_path)
        try:
            own = make_settings(
                url,
                tmp_path / "data",
                test_stacks_api_url=devnet.url,
                intent_cache_seconds=0,  # read what the watcher just wrote
            )
            env = await prepare_chain_env(own.secret("gateway_signing_key"), url=devnet.url)
            app = create_app(own)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://gw.test"
                ) as client,
                StacksApiClient(devnet.url, timeout=30) as api,
            ):
                shop = await sign_up(client, stacks_address=env.merchant)
                books = Books(env, app, shop, api)
                await books.watcher.run_round()  # the cursor starts at the tip
                yield books
        finally:
            if name is not None:
                await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        devnet.stop()


async def _database(settings: Settings, tmp: Path) -> tuple[str, str | None]:
    """A database of the test's own, of the same kind as the run's."""
    if settings.resolved_database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp / 'books.db'}"
        await upgrade(url)
        return url, None
    name = f"sbtc_books_{tmp.name[-8:].replace('-', '_')}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    await upgrade(_pg_url(name))
    return _pg_url(name), name


async def test_the_ledger_equals_the_chain_to_the_satoshi(books: Books) -> None:
    env = books.env
    merchant_before = await books.sbtc(env.merchant)
    payer_before = await books.sbtc(env.payer)
    recipient_before = await books.sbtc(books.recipient)

    # payments (a's fee goes to the recipient in the payment, b's is held), partial refunds
    a, _ = await books.pay(25_000)
    b, _ = await books.pay(40_000, by_recipient=True)
    await books.until(lambda: _all(books.status(p["id"]) for p in (a, b)), "two payments succeed")
    first, _ = await books.refund(a["id"], 10_000)
    await books.until(lambda: _refunded(books, first["id"]), "a partial refund")

    # a payment and a refund in one block, and that block rolled back: both come back
    c, _ = await books.pay(30_000, by_recipient=True)
    second, _ = await books.refund(b["id"], 5_000)
    await books.until(
        lambda: _both(books.status(c["id"]), _refunded(books, second["id"])), "same block"
    )
    block = (await books.get(f"/v1/payment_intents/{c['id']}"))["sbtc"]["block_height"]
    tip = (await books.api.get_info()).stacks_tip_height
    await asyncio.to_thread(env.reorg, tip - block + 1)
    result = await books.watcher.run_round()
    assert result.rolled_back == 2
    await books.until(lambda: _refunded(books, second["id"]), "re-mined")

    # a payment lost for good: its block rolled back and the transaction replaced
    d, lost_txid = await books.pay(20_000)
    await books.until(lambda: _is(books.status(d["id"]), "succeeded"), "d succeeds")
    block = (await books.get(f"/v1/payment_intents/{d['id']}"))["sbtc"]["block_height"]
    tip = (await books.api.get_info()).stacks_tip_height
    await asyncio.to_thread(env.reorg, tip - block + 1, [lost_txid])
    await books.until(lambda: _is(books.status(d["id"]), "requires_payment_method"), "reversed")

    # the held fees of the paid intents (b, c), sent out by two workers at once
    async with books.state.sessions.begin() as session:
        queued = await fees.enqueue_fee_calls(
            session, books.state.payments, livemode=False, batch=25
        )
    assert queued == 2
    account = outbox.OperatorAccount(DEVNET, env.deployer)
    runs = [
        outbox.run_once(
            books.state.sessions,
            books.api,
            account,
            worker_id=name,
            config=outbox.OperatorConfig(batch=25),
            on_change=fees.record_call,
            after_commit=books.state.after_commit,
        )
        for name in ("worker-a", "worker-b")
    ]
    sent = sum(r.broadcast for r in await asyncio.gather(*runs))
    assert sent == 2

    async def fees_out() -> bool:
        intents = [await books.get(f"/v1/payment_intents/{p['id']}") for p in (a, b, c)]
        return all(pi["sbtc"]["fee_status"] == "distributed" for pi in intents)

    await books.until(fees_out, "fees distributed")
    for _ in range(2):  # settle: nothing left in the mempool, the watcher at the tip
        await asyncio.to_thread(env.mine)
        await books.watcher.run_round()

    report = await reconcile.reconcile(
        books.state.sessions, books.api, network="devnet", contract_id=CONTRACT, livemode=False
    )
    assert report.settled
    assert report.differences == [], report.as_dict()

    rows = await books.ledger()
    kinds = sorted(r["type"] for r in rows)
    assert kinds == ["charge"] * 4 + ["payment_reversal"] + ["refund"] * 2
    paid = 25_000 + 40_000 + 30_000
    fees_paid = sum(p["application_fee_amount"] for p in (a, b, c))
    # the merchant's wallet moved by exactly the ledger's net
    assert await books.sbtc(env.merchant) - merchant_before == sum(r["net"] for r in rows)
    assert sum(r["net"] for r in rows) == paid - fees_paid - 15_000
    # the payer paid a and got part of it back (the lost payment d never left); the recipient
    # paid b and c, got part of b back, and every fee that stood (a's at once, b's and c's
    # distributed; the lost d's never)
    assert payer_before - await books.sbtc(env.payer) == 25_000 - 10_000
    assert await books.sbtc(books.recipient) - recipient_before == (
        -(40_000 + 30_000) + 5_000 + fees_paid
    )
    config = py(await books.api.call_read_only(CONTRACT, "get-config", []))
    assert config["fees-pending"] == 0  # every fee out, none counted twice
    totals = py(
        await books.api.call_read_only(CONTRACT, "get-merchant-totals", [principal(env.merchant)])
    )
    assert totals == {"processed": paid, "received": paid - fees_paid, "payments": 3}
    assert await books.sbtc(CONTRACT) == 0
    # the platform's rows: every fee earned and paid out; the lost one's reversed both ways
    platform = await _platform_rows(books)
    assert sum(amount for _, amount in platform) == 0
    assert sorted(t for t, _ in platform) == sorted(
        ["application_fee"] * 4 + ["payout"] * 4 + ["application_fee_refund", "payout_failure"]
    )


async def _platform_rows(books: Books) -> list[tuple[str, int]]:
    """The platform account's rows (the merchant's API never lists them)."""
    from sqlalchemy import select

    from sbtc_gateway.ledger.models import BalanceTransaction

    async with books.state.sessions() as session:
        rows = await session.execute(
            select(BalanceTransaction.type, BalanceTransaction.amount).where(
                BalanceTransaction.account == "platform"
            )
        )
        return [(str(t), int(a)) for t, a in rows]


async def _all(statuses: Any) -> bool:
    return all([await s == "succeeded" for s in statuses])


async def _is(status: Any, want: str) -> bool:
    return bool(await status == want)


async def _both(status: Any, refunded: Any) -> bool:
    return bool(await status == "succeeded") and bool(await refunded)


async def _refunded(books: Books, refund_id: str) -> bool:
    return bool((await books.get(f"/v1/refunds/{refund_id}"))["status"] == "succeeded")
