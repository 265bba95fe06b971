"""`/v1/analytics/projections`: a forecast with its bands and backtest on the generated
history; `insufficient_data` (with what is needed) for an account without enough of it."""

from __future__ import annotations

from typing import Any


async def test_projection_on_the_history(history: Any) -> None:
    _, shops = history
    body = (await shops[0].get("/v1/analytics/projections", {"horizon_days": 30})).json()
    assert body["status"] == "ok", body
    assert len(body["data"]) == 30
    assert body["history_days"] >= 58
    for day in body["data"]:
        assert (
            day["lower_95"]
            <= day["lower_80"]
            <= day["forecast"]
            <= day["upper_80"]
            <= day["upper_95"]
        )
        assert all(isinstance(day[k], int) for k in ("forecast", "lower_95", "upper_95"))
    assert body["backtest"]["horizon_days"] == 30
    assert body["model"]["seasonal_periods"] == 7


async def test_not_enough_history_says_how_much_is_needed(merchant: Any) -> None:
    body = (await merchant.get("/v1/analytics/projections", {"horizon_days": 90})).json()
    assert body["status"] == "insufficient_data"
    assert body["minimum_history_days"] == 118
    assert body["data"] == []
    assert "118" in body["message"]
