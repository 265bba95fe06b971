"""What the chain side of an intent is made of (`payments/onchain.py`): its lifetime in blocks."""

from __future__ import annotations

from sbtc_gateway.payments.onchain import blocks_for


def test_blocks_for_covers_the_lifetime() -> None:
    assert blocks_for(1800, 5) == 360
    assert blocks_for(1801, 5) == 361
    assert blocks_for(0, 5) == 1
    assert blocks_for(-10, 5) == 1
