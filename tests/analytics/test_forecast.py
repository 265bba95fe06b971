"""The forecast on synthetic series of known trend and weekly seasonality: the truth falls
inside the 95 % band at about 95 %, inside the 80 % band at about 80 %; the backtest's MAPE is
that of the noise."""

from __future__ import annotations

import math
import random

from sbtc_gateway.analytics import forecast

HORIZON = 30


def series(seed: int, days: int) -> list[float]:
    rng = random.Random(seed)
    return [
        1_000_000 + 3_000 * t + 200_000 * math.sin(2 * math.pi * t / 7) + rng.gauss(0, 60_000)
        for t in range(days)
    ]


def test_the_truth_is_inside_the_bands_at_the_expected_rate() -> None:
    inside95 = inside80 = total = 0
    for seed in range(12):
        full = series(seed, 150 + HORIZON)
        history, future = full[:150], full[150:]
        fit = forecast.fit_and_forecast(history, HORIZON)
        for actual, lo80, hi80, lo95, hi95 in zip(
            future, fit.lower_80, fit.upper_80, fit.lower_95, fit.upper_95, strict=True
        ):
            total += 1
            inside95 += lo95 <= actual <= hi95
            inside80 += lo80 <= actual <= hi80
        assert all(
            lo <= m <= hi for lo, m, hi in zip(fit.lower_95, fit.mean, fit.upper_95, strict=True)
        )
    print(
        f"coverage: 95 % band {inside95 / total:.3f}, 80 % band {inside80 / total:.3f} of {total}"
    )
    assert 0.90 <= inside95 / total <= 0.99
    assert 0.70 <= inside80 / total <= 0.90


def test_the_backtest_scores_the_held_out_horizon() -> None:
    result = forecast.backtest(series(99, 120), HORIZON)
    assert result.days == HORIZON
    assert result.mape is not None
    # noise of 60k on ~1.3M: a few percent, and far from a flat line's error
    assert 0.01 < float(result.mape) < 0.12
    assert float(result.coverage_95) >= 0.8


def test_minimum_history_is_four_weeks_plus_the_horizon() -> None:
    assert forecast.minimum_history(30) == 58
    assert forecast.minimum_history(90) == 118
