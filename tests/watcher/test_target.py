"""What one watcher watches (`watcher/target.py`): large payments wait for more blocks."""

from __future__ import annotations

from sbtc_gateway.chain import DEVNET
from sbtc_gateway.watcher.target import WatchTarget
from tests.watcher.test_service import CONTRACT


def test_large_payments_wait_for_more_blocks() -> None:
    target = WatchTarget(
        DEVNET, CONTRACT, False, large_payment_sats=1_000_000, large_payment_confirmations=6
    )
    assert target.confirmations_for(999_999) == 1
    assert target.confirmations_for(1_000_000) == 6
