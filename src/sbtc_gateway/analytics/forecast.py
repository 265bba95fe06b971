"""The revenue forecast: statsmodels' ETS (additive error, damped additive trend, additive
weekly seasonality) on daily gross volume, with 80 % and 95 % prediction intervals, and its
backtest: the same model fitted without the last `horizon` days, scored on them (MAPE).

Pure numbers in, numbers out (no I/O), so it is tested on synthetic series of known shape.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

SEASON = 7
MIN_FIT_DAYS = 4 * SEASON  # four weeks to see the weekly pattern at all


def minimum_history(horizon: int) -> int:
    """Days needed: four weeks to fit, plus a horizon held out for the backtest."""
    return MIN_FIT_DAYS + horizon


@dataclass(frozen=True)
class Forecast:
    mean: list[float]
    lower_80: list[float]
    upper_80: list[float]
    lower_95: list[float]
    upper_95: list[float]


def fit_and_forecast(history: list[float], horizon: int) -> Forecast:
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    # a Series (with its RangeIndex): statsmodels 0.15's prediction needs an index
    y = pd.Series(np.asarray(history, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the backtest says how good it is
        fitted = _fit(ETSModel, y)
        prediction = fitted.get_prediction(start=len(y), end=len(y) + horizon - 1)
        band80 = prediction.summary_frame(alpha=0.20)
        band95 = prediction.summary_frame(alpha=0.05)

    def column(frame: object, name: str) -> list[float]:
        return [float(v) for v in np.asarray(frame[name])]  # type: ignore[index]

    return Forecast(
        mean=column(band95, "mean"),
        lower_80=column(band80, "pi_lower"),
        upper_80=column(band80, "pi_upper"),
        lower_95=column(band95, "pi_lower"),
        upper_95=column(band95, "pi_upper"),
    )


def _fit(model: Any, y: Any) -> Any:
    """Initial states from the classical decomposition where there is enough history (its
    variance estimate is close to the noise's; estimating them with the parameters inflates
    it, and the bands with it), estimated otherwise."""
    for init in ("heuristic", "estimated"):
        try:
            return model(
                y,
                error="add",
                trend="add",
                damped_trend=True,
                seasonal="add",
                seasonal_periods=SEASON,
                initialization_method=init,
            ).fit(disp=False, maxiter=500)
        except ValueError:  # too short for the heuristic
            continue
    raise ValueError("the series is too short to fit")


@dataclass(frozen=True)
class Backtest:
    mape: str | None  # over the held-out days with revenue (a day of 0 has no percentage)
    coverage_95: str
    days: int


def backtest(history: list[float], horizon: int) -> Backtest:
    fit = fit_and_forecast(history[:-horizon], horizon)
    actual = history[-horizon:]
    errors = [abs(a - f) / a for a, f in zip(actual, fit.mean, strict=True) if a > 0]
    inside = sum(
        1 for a, lo, hi in zip(actual, fit.lower_95, fit.upper_95, strict=True) if lo <= a <= hi
    )
    mape = _decimal(sum(errors) / len(errors)) if errors else None
    return Backtest(mape, _decimal(inside / horizon), horizon)


def _decimal(value: float) -> str:
    return str(Decimal(value if math.isfinite(value) else 0).quantize(Decimal("0.0001")))


def sats(value: float) -> int:
    """A forecast figure as satoshis (revenue is never negative)."""
    return max(0, round(value)) if math.isfinite(value) else 0
