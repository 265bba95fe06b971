"""The chain state's SQL (`chainstate/repository.py`): the advisory lock that keeps one active
watcher per network."""

from __future__ import annotations

from sbtc_gateway.chainstate import repository
from sbtc_gateway.config import Settings
from sbtc_gateway.db.engine import make_engine


async def test_one_active_watcher_per_network(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url, pool_size=3)
    try:
        if engine.dialect.name != "postgresql":  # one process: nothing to lock
            async with engine.connect() as only:
                assert await repository.try_advisory_lock(only, "testnet-lock-test")
            return
        async with engine.connect() as first, engine.connect() as second:
            assert await repository.try_advisory_lock(first, "testnet-lock-test")
            assert not await repository.try_advisory_lock(second, "testnet-lock-test")
            await repository.release_advisory_lock(first, "testnet-lock-test")
            assert await repository.try_advisory_lock(second, "testnet-lock-test")
            await repository.release_advisory_lock(second, "testnet-lock-test")
    finally:
        await engine.dispose()
