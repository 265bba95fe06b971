"""The retry schedule: exponential backoff with jitter, inside a per-mode window.

After the n-th failed attempt the next one waits `min(base * 3**(n-1), cap)`, times a random
factor in [0.8, 1.2]. Live mode: base 60 s, cap 12 h, window 3 days (1 min, 3 min, 9 min, 27 min,
81 min, 4 h, then every 12 h: about 11 attempts). Test mode: configurable, by default base 10 s,
cap 1 h, window 3 h. A delivery whose next attempt would fall after its deadline is given up
(`failed`); it can still be resent by hand.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

LIVE_BASE_SECONDS = 60.0
LIVE_CAP_SECONDS = 12 * 3600.0
LIVE_WINDOW_SECONDS = 3 * 24 * 3600.0
JITTER = 0.2


@dataclass(frozen=True, slots=True)
class Schedule:
    base_seconds: float
    cap_seconds: float
    window_seconds: float

    def delay_ms(self, failed_attempts: int, rng: random.Random | None = None) -> int:
        exponent = max(failed_attempts - 1, 0)
        raw = self.base_seconds * (3.0 ** min(exponent, 30))
        factor = 1.0 + (rng or random).uniform(-JITTER, JITTER)
        return max(int(min(raw, self.cap_seconds) * factor * 1000), 1)

    @property
    def window_ms(self) -> int:
        return int(self.window_seconds * 1000)


LIVE = Schedule(LIVE_BASE_SECONDS, LIVE_CAP_SECONDS, LIVE_WINDOW_SECONDS)
