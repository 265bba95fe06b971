"""Settlements are sums of the ledger: a closed period never changes (ADR 0010)."""

from __future__ import annotations

import calendar
from typing import Any

from sbtc_gateway.core.ids import new_id
from sbtc_gateway.ledger.models import BalanceTransaction
from tests.conftest import Merchant

DAY_ONE = calendar.timegm((2026, 11, 2, 10, 0, 0))
DAY_TWO = DAY_ONE + 86_400


def _row(merchant: str, type_: str, amount: int, fee: int, created: int) -> BalanceTransaction:
    return BalanceTransaction(
        id=new_id("txn"),
        merchant_id=merchant,
        livemode=False,
        account="merchant",
        type=type_,
        reporting_category=type_,
        amount=amount,
        fee=fee,
        net=amount - fee,
        fee_details=[],
        currency="sbtc",
        source_id=new_id("ch"),
        sequence=1,
        status="available",
        available_on=created,
        created=created,
    )


async def _days(merchant: Merchant) -> dict[int, dict[str, Any]]:
    window = {"created[gte]": DAY_ONE - 3600, "created[lt]": DAY_TWO + 86_400}
    body = (await merchant.get("/v1/settlements", window)).json()
    return {s["period_start"]: s for s in body["data"]}


async def test_a_reversal_lands_in_its_own_period_and_a_closed_one_never_changes(
    app: Any, merchant: Merchant
) -> None:
    sessions = app.state.gateway.sessions
    async with sessions.begin() as session:
        session.add(_row(merchant.id, "charge", 25_000, 250, DAY_ONE))
        session.add(_row(merchant.id, "charge", 40_000, 400, DAY_ONE + 60))
        session.add(_row(merchant.id, "refund", -5_000, 0, DAY_ONE + 120))
    before = await _days(merchant)
    [day_one] = before.values()
    assert (day_one["gross"], day_one["fees"], day_one["refunds"], day_one["count"]) == (
        65_000,
        650,
        5_000,
        2,
    )
    assert day_one["net"] == 65_000 - 650 - 5_000
    # the next day the first payment is lost after a reorg: a new row, in the new day
    async with sessions.begin() as session:
        session.add(_row(merchant.id, "payment_reversal", -25_000, -250, DAY_TWO))
    after = await _days(merchant)
    assert after[day_one["period_start"]] == day_one
    day_two = after[day_one["period_start"] + 86_400]
    assert (day_two["gross"], day_two["reversals"], day_two["fees"], day_two["count"]) == (
        0,
        25_000,
        -250,
        0,
    )
    assert day_two["net"] == -(25_000 - 250)


async def test_the_export_has_iso_dates_and_true_false(app: Any, merchant: Merchant) -> None:
    async with app.state.gateway.sessions.begin() as session:
        session.add(_row(merchant.id, "charge", 10_000, 100, DAY_ONE))
    window = {"created[gte]": DAY_ONE - 3600, "created[lt]": DAY_ONE + 3600}
    text = (await merchant.get("/v1/settlements/export", window)).text
    header, line = text.strip().splitlines()
    row = dict(zip(header.split(","), line.split(","), strict=True))
    assert row["period_start_date"] == "2026-11-02T00:00:00Z"
    assert row["period_end_date"] == "2026-11-03T00:00:00Z"
    assert row["livemode"] == "false"
    assert (row["gross"], row["fees"], row["net"]) == ("10000", "100", "9900")
