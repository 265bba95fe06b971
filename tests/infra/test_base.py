"""The sliding-window arithmetic every rate limiter shares (`infra/base.py`)."""

from __future__ import annotations

from sbtc_gateway.infra.base import sliding_window


def test_sliding_window_weights_the_previous_window() -> None:
    # 10 used in the previous minute, 20 s into this one: 10 * 40/60 ≈ 6.7 still count.
    result = sliding_window(prev=10, curr=3, elapsed=20, window=60, limit=10, allowed=True)
    assert result.remaining == 0  # 10 - 6.67 - 3 = 0.33 → 0
    refused = sliding_window(prev=10, curr=3, elapsed=20, window=60, limit=10, allowed=False)
    # one more fits once 10 * (60 - 20 - t)/60 <= 6, i.e. t >= 4 s
    assert refused.retry_after == 4
