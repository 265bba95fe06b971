"""A new chain is not a reorg (`watcher/identity.py`, ADR 0202).

The gateway follows fake chain A; then its Stacks API serves chain B (a wiped devnet: the same
heights, other blocks). Before, the reorg check found none of its blocks and rolled back every
credited payment; now the watcher says so in plain words and changes nothing — no payment moves,
no event is written, nothing in limbo is reversed — until `follow_new_chain` (the operator's
`sbtc-gateway chain follow-new`) starts a new cursor at B's tip, after which B's payments are
followed and A's records stay as they were.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from sqlalchemy import func, select

from sbtc_gateway.chain import PrivateKey
from sbtc_gateway.chainstate import repository
from sbtc_gateway.chainstate.models import ChainInboxEntry, ChainReset
from sbtc_gateway.config import Settings
from sbtc_gateway.events.models import Event
from sbtc_gateway.watcher import identity
from tests.conftest import Merchant
from tests.watcher.test_scenarios import FakeBackend, World, call_of, fresh_database

CHANGED = "is not the one this gateway followed"


@contextlib.asynccontextmanager
async def world_on_a_fake_chain(settings: Settings, tmp: Path) -> AsyncIterator[World]:
    async with contextlib.AsyncExitStack() as stack:
        backend = FakeBackend(seed="chain A")
        await backend.prepare(PrivateKey.from_hex(settings.secret("gateway_signing_key")))
        url = await stack.enter_async_context(fresh_database(settings, tmp))
        own = settings.model_copy(
            update={"database_url": url, "test_gateway_contract": backend.contract_id}
        )
        world = World(backend, own, stack)
        await world.start()
        yield world


async def new_chain(world: World, blocks: int = 0) -> FakeBackend:
    """Chain B, with the same contract and wallets, now served by the gateway's Stacks API."""
    other = FakeBackend(seed="chain B")
    await other.prepare(PrivateKey.from_hex(world.settings.secret("gateway_signing_key")))
    other.mine(blocks)
    world.watcher.client = other.source
    return other


async def recorded(world: World, shop: Merchant, intents: list[dict[str, Any]]) -> Any:
    """What must not move: the intents and charges as the API shows them, and every event."""
    async with world.state.sessions() as session:
        events = (await session.scalar(select(func.count()).select_from(Event))) or 0
        cursor = await repository.get_cursor(session, "devnet")
        assert cursor is not None
        where = (cursor.height, cursor.block_hash, cursor.genesis_hash)
    shown = [await world.intent(shop, pi) for pi in intents]
    charges = [(await shop.get(f"/v1/charges/{pi['latest_charge']}")).json() for pi in shown]
    return {"events": events, "intents": shown, "charges": charges, "cursor": where}


async def test_a_new_chain_is_not_a_reorg_nothing_moves_until_the_operator_says_follow_it(
    settings: Settings, tmp_path: Path
) -> None:
    async with world_on_a_fake_chain(settings, tmp_path) as world:
        shop = await world.shop()
        paid, _ = await world.paid(shop)
        # a second payment whose block is rolled back and not mined again yet: in limbo
        limbo, limbo_txid = await world.paid(shop)
        world.backend.reorg(1)
        world.backend.chain.held.add(limbo_txid)
        await world.round()
        in_limbo = (await shop.get(f"/v1/charges/{limbo['latest_charge']}")).json()
        assert in_limbo["payment_method_details"]["sbtc"]["reorged_at"] is not None
        before = await recorded(world, shop, [paid, limbo])

        b = await new_chain(world, blocks=3)
        with structlog.testing.capture_logs() as logs:
            first = await world.watcher.run_round()
            again = await world.watcher.run_round()
        assert first.error is not None
        assert CHANGED in first.error
        assert "sbtc-gateway chain follow-new --network devnet" in first.error
        assert (first.rolled_back, first.blocks, again.rolled_back) == (0, 0, 0)
        said = [e for e in logs if e["log_level"] == "error"]
        assert len(said) == 1, logs  # said once, not every round
        assert CHANGED in said[0]["detail"]
        # longer than the re-inclusion window: on the old chain's reckoning, limbo would end
        b.mine(world.settings.reorg_reinclusion_blocks + 5)
        for _ in range(3):
            assert (await world.watcher.run_round()).error is not None
        assert await recorded(world, shop, [paid, limbo]) == before

        b_tip = b.chain.tip.hash
        followed = await world.watcher.follow_new_chain()
        assert isinstance(followed, identity.Followed)
        assert (followed.archive, followed.new_height) == ("devnet~1", b.chain.tip.height)
        assert followed.stranded["txids"] == [limbo_txid]
        assert followed.stranded["charges"] == [limbo["latest_charge"]]
        b.mine(world.settings.reorg_reinclusion_blocks + 5)
        for _ in range(2):
            assert (await world.watcher.run_round()).error is None
        after = await recorded(world, shop, [paid, limbo])
        assert (after["events"], after["intents"], after["charges"]) == (
            before["events"],
            before["intents"],
            before["charges"],
        )
        async with world.state.sessions() as session:
            reset = await session.scalar(select(ChainReset))
            assert reset is not None
            assert (reset.old_height, reset.new_block_hash) == (
                before["cursor"][0],
                b_tip,
            )
            archived = await session.scalar(
                select(func.count())
                .select_from(ChainInboxEntry)
                .where(ChainInboxEntry.network == "devnet~1")
            )
            assert archived
            assert archived >= 2

        # the new chain's payments are followed as any
        world.backend = b
        b.attach(world.apps[0])
        fresh = await world.confirmed(shop)
        await b.pay(call_of(fresh))
        b.mine()
        await world.round()
        assert (await world.intent(shop, fresh))["status"] == "succeeded"
        assert (await recorded(world, shop, [paid, limbo]))["intents"] == before["intents"]


async def test_the_same_chain_is_followed_and_a_cursor_without_a_name_gets_one(
    settings: Settings, tmp_path: Path
) -> None:
    async with world_on_a_fake_chain(settings, tmp_path) as world:
        genesis = (await world.backend.source.get_block(identity.GENESIS_HEIGHT)).hash
        async with world.state.sessions() as session:
            cursor = await repository.get_cursor(session, "devnet")
            assert cursor is not None
            assert cursor.genesis_hash == genesis

        async def forget_the_name() -> None:
            async with world.state.sessions.begin() as session:
                cursor = await repository.get_cursor(session, "devnet")
                assert cursor is not None
                cursor.genesis_hash = None

        # a cursor from before the column, on its own chain: followed, and named
        await forget_the_name()
        world.watcher.chain = None
        world.backend.mine()
        assert (await world.round()).blocks == 1
        async with world.state.sessions() as session:
            cursor = await repository.get_cursor(session, "devnet")
            assert cursor is not None
            assert cursor.genesis_hash == genesis
        check = await world.watcher.follow_new_chain()
        assert isinstance(check, identity.ChainCheck)
        assert check.status == "same"

        # without a name, another chain is told apart by the first block the cursor saw
        await forget_the_name()
        world.watcher.chain = None
        await new_chain(world, blocks=5)
        refused = await world.watcher.run_round()
        assert refused.error is not None
        assert CHANGED in refused.error


@pytest.mark.parametrize("status", ["new_cursor", "same", "changed"])
def test_the_message_is_plain_words(status: identity.Status) -> None:
    check = identity.ChainCheck("testnet", status, 1, "0xaa", "0xbb", 1234)
    text = check.message()
    assert "testnet" in text
    if status == "changed":
        assert "block 1 is 0xbb, the gateway's was 0xaa (followed up to block 1234)" in text
        assert "not a reorg" in text
        assert "no payment goes back, no event is sent" in text
