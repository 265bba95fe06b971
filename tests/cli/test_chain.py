"""`sbtc-gateway chain follow-new` (`cli/chain.py`): on a chain that is not the cursor's, a new
cursor at its tip, said in plain words; on the cursor's own chain, nothing."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from sbtc_gateway.chainstate import repository
from sbtc_gateway.chainstate.models import ChainReset
from sbtc_gateway.cli import main
from sbtc_gateway.db.engine import make_engine, make_sessionmaker
from tests.chain_fixtures import CHAIN_MARKS

pytestmark = CHAIN_MARKS


async def _cursor_on_another_chain(url: str) -> None:
    """The cursor of a gateway that followed another devnet (its block 1 was other)."""
    engine = make_engine(url, pool_size=1)
    try:
        async with make_sessionmaker(engine).begin() as session:
            await repository.set_cursor(
                session, "devnet", 40, "0x" + "ab" * 32, genesis_hash="0x" + "cd" * 32
            )
            await repository.remember_block(session, "devnet", 40, "0x" + "ab" * 32)
    finally:
        await engine.dispose()


async def _resets(url: str) -> list[ChainReset]:
    engine = make_engine(url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as session:
            return list((await session.scalars(select(ChainReset))).all())
    finally:
        await engine.dispose()


def test_follow_new_starts_a_cursor_on_the_new_chain_once(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chain = os.environ["STACKS_DEVNET_URL"]
    monkeypatch.setenv("SBTC_TEST_STACKS_API_URL", chain)
    runner = CliRunner()
    assert runner.invoke(main, ["migrate"]).exit_code == 0
    url = f"sqlite+aiosqlite:///{env / 'gateway.db'}"
    asyncio.run(_cursor_on_another_chain(url))

    done = runner.invoke(main, ["chain", "follow-new", "--network", "devnet"])
    assert done.exit_code == 0, done.output
    assert "Following the new devnet chain from block" in done.output
    assert "the old one was followed to block 40" in done.output
    outcome = json.loads(done.output.strip().splitlines()[-1])
    assert outcome["archive"] == "devnet~1"
    tip = httpx.get(f"{chain}/v2/info", timeout=30).json()["stacks_tip_height"]
    assert outcome["new_height"] <= tip
    [reset] = asyncio.run(_resets(url))
    assert (reset.old_height, reset.old_genesis_hash) == (40, "0x" + "cd" * 32)
    genesis = httpx.get(f"{chain}/extended/v2/blocks/1", timeout=30).json()["hash"]
    assert reset.new_genesis_hash == genesis

    again = runner.invoke(main, ["chain", "follow-new", "--network", "devnet"])
    assert again.exit_code == 0, again.output
    assert again.output.startswith(
        "Nothing to do. The devnet chain is the one the gateway followed"
    )
    assert len(asyncio.run(_resets(url))) == 1
