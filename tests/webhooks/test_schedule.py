"""The retry schedule (`webhooks/schedule.py`): backoff with jitter inside each mode's window."""

from __future__ import annotations

import random

from sbtc_gateway.webhooks.schedule import LIVE, Schedule


def test_live_schedule_spans_three_days() -> None:
    rng = random.Random(7)
    elapsed, attempts = 0, 1
    while True:
        delay = LIVE.delay_ms(attempts, rng)
        if elapsed + delay > LIVE.window_ms:
            break
        elapsed += delay
        attempts += 1
    assert 10 <= attempts <= 13
    assert 48 * 3600_000 < elapsed <= LIVE.window_ms
    first = [LIVE.delay_ms(n, random.Random(1)) / 1000 for n in (1, 2, 3)]
    assert 48 <= first[0] <= 72
    assert 144 <= first[1] <= 216
    assert 432 <= first[2] <= 648
    assert LIVE.delay_ms(40, rng) <= 12 * 3600_000 * 1.2


def test_test_schedule_is_configurable() -> None:
    fast = Schedule(0.2, 1.0, 60.0)
    assert fast.delay_ms(1) <= 240
    assert fast.delay_ms(10) <= 1200
    assert fast.window_ms == 60_000
