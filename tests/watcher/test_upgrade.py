"""An upgrade of the payment contract on the devnet (ADR 0101, contracts/README.md "Upgrading
the contract"): the new deployment beside the old, the gateway signing new intents for the new
one while its watcher follows both, an intent signed for the old one before the switch still
paid there, refunds of old payments and the old deployment's held fee paid out after it is
paused, and the ledger equal to the sum of both contracts' counters."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sbtc_gateway.chain import (
    DEVNET,
    ClarityVersion,
    PrivateKey,
    StacksApiClient,
    StacksBlockchainService,
    TxStatus,
    principal,
)
from sbtc_gateway.config import Settings
from sbtc_gateway.db.migrate import upgrade
from sbtc_gateway.devnet import DevnetProcess
from sbtc_gateway.ledger import reconcile
from sbtc_gateway.operator import worker as outbox
from sbtc_gateway.payments import fees
from sbtc_gateway.runtime.app import create_app
from sbtc_gateway.runtime.watcher import watch_target
from sbtc_gateway.watcher import setup
from sbtc_gateway.watcher.decode import py
from sbtc_gateway.watcher.runner import Watcher
from tests.chain_fixtures import CHAIN_MARKS, CONTRACT, ChainEnv, prepare_chain_env
from tests.conftest import Merchant, _pg_admin, _pg_url, make_settings, sign_up

pytestmark = CHAIN_MARKS
OLD = CONTRACT  # the devnet's deployment
NEW_NAME = "sbtc-payment-gateway-v2"
SOURCE = Path(__file__).parents[2] / "contracts" / "contracts" / "sbtc-payment-gateway.clar"
ROUNDS = 60  # bound on watcher rounds while waiting for one thing (never a time limit)


class Upgrade:
    """One devnet, one database, and the gateway before and after its upgrade."""

    def __init__(self, env: ChainEnv, api: StacksApiClient, settings: Settings) -> None:
        self.env, self.api, self.settings = env, api, settings
        self.clients: list[httpx.AsyncClient] = []
        self.apps: list[Any] = []
        self.watcher: Watcher | None = None

    @property
    def recipient(self) -> str:
        return self.env.deployer.address(DEVNET.single_sig_version)

    async def until(self, check: Callable[[], Any], what: str) -> None:
        assert self.watcher is not None
        for _ in range(ROUNDS):
            await asyncio.to_thread(self.env.mine)
            result = await self.watcher.run_round()
            assert result.error is None, result
            if await check():
                return
        raise AssertionError(f"never: {what}")

    async def confirmed(self, shop: Merchant, *, payer: str | None = None) -> dict[str, Any]:
        self.apps[-1].state.gateway.payments.tips.forget()
        pi = await shop.create_intent(
            25_000,
            **{
                "payment_method_data[type]": "sbtc",
                "payment_method_data[sbtc][payer]": payer or self.env.payer,
            },
        )
        response = await shop.post(f"/v1/payment_intents/{pi['id']}/confirm")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def pay(self, obj: dict[str, Any], *, key: str | None = None) -> str:
        call = obj["next_action"]["sbtc_contract_call"]
        txid: str = await asyncio.to_thread(self.env.pay, call, key=key or self.env.payer_key)
        return txid.removeprefix("0x")

    async def status(self, shop: Merchant, pi_id: str) -> str:
        status: str = (await shop.get(f"/v1/payment_intents/{pi_id}")).json()["status"]
        return status

    async def owner(self, contract: str, function: str, *args: Any) -> None:
        service = StacksBlockchainService(self.api, DEVNET, self.env.deployer)
        sent = await service.call_contract_function(contract, function, list(args), fee=10_000)
        await self.mined(sent.txid)

    async def mined(self, txid: str) -> None:
        for _ in range(ROUNDS):
            await asyncio.to_thread(self.env.mine)
            info = await self.api.get_transaction(txid)
            if info.block_height is not None:
                assert info.status is TxStatus.SUCCESS, info.tx_result_repr
                return
        raise AssertionError(f"{txid} not mined")


@pytest.fixture
async def world(settings: Settings, tmp_path: Path) -> AsyncIterator[Upgrade]:
    devnet = await asyncio.to_thread(DevnetProcess(port=0, block_time_ms=0).start)
    name = None
    try:
        if settings.resolved_database_url.startswith("sqlite"):
            url = f"sqlite+aiosqlite:///{tmp_path / 'upgrade.db'}"
            await upgrade(url)
        else:
            name = f"sbtc_upgrade_{tmp_path.name[-8:].replace('-', '_')}"
            await _pg_admin(f'CREATE DATABASE "{name}"')
            url = _pg_url(name)
            await upgrade(url)
        own = make_settings(
            url, tmp_path / "data", test_stacks_api_url=devnet.url, intent_cache_seconds=0
        )
        env = await prepare_chain_env(own.secret("gateway_signing_key"), url=devnet.url)
        async with StacksApiClient(devnet.url, timeout=30) as api:
            world = Upgrade(env, api, own)
            try:
                yield world
            finally:
                for client in world.clients:
                    await client.aclose()
    finally:
        if name is not None:
            await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        devnet.stop()


async def gateway(
    world: Upgrade, stack: contextlib.AsyncExitStack, settings: Settings
) -> httpx.AsyncClient:
    """A gateway process on the shared database, and its watcher (as `sbtc-gateway watcher`
    builds it from the settings)."""
    app = create_app(settings)
    await stack.enter_async_context(app.router.lifespan_context(app))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw.test")
    world.clients.append(client)
    world.apps.append(app)
    state = app.state.gateway
    world.watcher = Watcher(
        state.sessions,
        watch_target(settings, "devnet"),
        world.api,
        after_commit=state.after_commit,
        poll_interval=0,
        reconcile_every=1,
    )
    return client


async def test_an_upgrade_keeps_old_payments_whole_and_pays_new_ones_on_the_new_contract(
    world: Upgrade,
) -> None:
    env = world.env
    async with contextlib.AsyncExitStack() as stack:
        # --- before: the gateway on the old deployment ---------------------------------------
        before = await gateway(world, stack, world.settings)
        shop = await sign_up(before, stacks_address=env.merchant)
        await world.watcher.run_round()  # type: ignore[union-attr]
        paid = await world.confirmed(shop)  # its fee goes to the recipient at once
        held = await world.confirmed(shop, payer=world.recipient)  # its fee is held
        outstanding = await world.confirmed(shop)  # signed, not paid before the switch
        stranded = await world.confirmed(shop)  # signed, paid only after the old one pauses
        for pi in (paid, outstanding, stranded):
            assert pi["next_action"]["sbtc_contract_call"]["contract_id"] == OLD
        await world.pay(paid)
        await world.pay(held, key=env.deployer_key_hex)

        async def both_paid() -> bool:
            return all([await world.status(shop, p["id"]) == "succeeded" for p in (paid, held)])

        await world.until(both_paid, "the old deployment's payments succeed")

        # --- the new deployment beside the old, with the gateway's key -------------------------
        deployer = StacksBlockchainService(world.api, DEVNET, env.deployer)
        deployed = await deployer.deploy_contract(
            NEW_NAME, SOURCE.read_text(), clarity_version=ClarityVersion.CLARITY4, fee=200_000
        )
        await world.mined(deployed.txid)
        new = deployed.contract_id
        gateway_key = PrivateKey.from_hex(world.settings.secret("gateway_signing_key"))
        sent = await setup.set_gateway_key(
            world.api, DEVNET, new, env.deployer, gateway_key.public_key
        )
        await world.mined(sent.txid)

        # --- after: new intents are signed for the new one; the watcher follows both ----------
        upgraded = world.settings.model_copy(
            update={"test_gateway_contract": new, "test_previous_gateway_contracts": OLD}
        )
        after = await gateway(world, stack, upgraded)
        assert world.watcher is not None
        assert world.watcher.target.contracts == (new, OLD)
        shop = Merchant(after, shop.body)
        ready = (await after.get("/ready")).json()["chain"]["devnet"]
        assert (ready["contract"], ready["gateway_key"]) == (new, "ok")
        fresh = await world.confirmed(shop)
        assert fresh["next_action"]["sbtc_contract_call"]["contract_id"] == new
        assert fresh["sbtc"]["contract_id"] == new
        await world.pay(fresh)
        # the intent signed for the old deployment before the switch still pays there
        shown = (await shop.get(f"/v1/payment_intents/{outstanding['id']}")).json()
        assert shown["next_action"]["sbtc_contract_call"]["contract_id"] == OLD
        await world.pay(shown)

        async def switched() -> bool:
            ids = (fresh["id"], outstanding["id"])
            return all([await world.status(shop, i) == "succeeded" for i in ids])

        await world.until(switched, "payments on both deployments succeed")

        # --- the old deployment paused: nothing new pays there ---------------------------------
        await world.owner(OLD, "pause")
        txid = await world.pay(stranded)
        await world.until(
            lambda: _is(world.status(shop, stranded["id"]), "requires_payment_method"),
            "the payment on the paused deployment fails",
        )
        failed = (await shop.get(f"/v1/payment_intents/{stranded['id']}")).json()
        assert failed["last_payment_error"]["code"] == "gateway_paused"
        assert (await world.api.get_transaction(txid)).tx_result_repr == "(err u102)"
        # Its terms on the old deployment stay payable there until their expiry height (should
        # it be unpaused): signing them for the new one now could let both be paid. So confirm
        # refuses until they expire, then signs for the new deployment.
        confirm = f"/v1/payment_intents/{stranded['id']}/confirm"
        refused = await shop.post(confirm)
        assert (refused.status_code, refused.json()["error"]["code"]) == (503, "contract_paused")
        tip = (await world.api.get_info()).stacks_tip_height
        await asyncio.to_thread(env.mine, failed["sbtc"]["expires_at_block"] - tip)
        world.apps[-1].state.gateway.payments.tips.forget()
        again = (await shop.post(confirm)).json()
        assert again["next_action"]["sbtc_contract_call"]["contract_id"] == new  # re-signed
        await world.pay(again)
        await world.until(lambda: _is(world.status(shop, stranded["id"]), "succeeded"), "new")

        # --- old payments refunded, the old deployment's held fee paid out ---------------------
        response = await shop.post("/v1/refunds", {"payment_intent": paid["id"], "amount": 5_000})
        refund = response.json()
        assert refund["next_action"]["sbtc_contract_call"]["contract_id"] == OLD
        await world.pay(refund, key=env.merchant_key_hex)
        await world.until(lambda: _refund_done(shop, refund["id"]), "the old payment's refund")
        state = world.apps[-1].state.gateway
        async with state.sessions.begin() as session:
            assert await fees.enqueue_fee_calls(session, state.payments, livemode=False, batch=25)
        result = await outbox.run_once(
            state.sessions,
            world.api,
            outbox.OperatorAccount(DEVNET, env.deployer),
            worker_id="upgrade",
            on_change=fees.record_call,
            after_commit=state.after_commit,
        )
        assert result.broadcast == 1
        await world.until(lambda: _fee_out(shop, held["id"]), "the held fee paid out")

        # --- the books: the ledger equals both deployments' counters ---------------------------
        for _ in range(2):
            await asyncio.to_thread(env.mine)
            await world.watcher.run_round()
        report = await reconcile.reconcile(
            state.sessions,
            world.api,
            network="devnet",
            contract_id=new,
            livemode=False,
            previous_contracts=(OLD,),
        )
        assert report.settled
        assert report.differences == [], report.as_dict()
        totals = {
            c: py(
                await world.api.call_read_only(c, "get-merchant-totals", [principal(env.merchant)])
            )
            for c in (OLD, new)
        }
        assert (totals[OLD]["payments"], totals[new]["payments"]) == (3, 2)
        for contract in (OLD, new):
            config = py(await world.api.call_read_only(contract, "get-config", []))
            assert config["fees-pending"] == 0
        assert py(await world.api.call_read_only(OLD, "get-config", []))["paused"] is True


async def _is(status: Any, want: str) -> bool:
    return bool(await status == want)


async def _refund_done(shop: Merchant, refund_id: str) -> bool:
    return bool((await shop.get(f"/v1/refunds/{refund_id}")).json()["status"] == "succeeded")


async def _fee_out(shop: Merchant, pi_id: str) -> bool:
    shown = (await shop.get(f"/v1/payment_intents/{pi_id}")).json()
    return bool(shown["sbtc"]["fee_status"] == "distributed")
