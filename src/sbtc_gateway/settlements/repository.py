"""SQL for settlements (read-only aggregates), scoped to (merchant, livemode)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.payments.state import Status
from sbtc_gateway.refunds.models import Refund


async def succeeded_payments(
    session: AsyncSession, merchant_id: str, livemode: bool, start: int, end: int
) -> list[tuple[int, int, int]]:
    """(succeeded_at, amount_received, application_fee_amount) in [start, end)."""
    query = select(
        PaymentIntent.succeeded_at,
        PaymentIntent.amount_received,
        PaymentIntent.application_fee_amount,
    ).where(
        PaymentIntent.merchant_id == merchant_id,
        PaymentIntent.livemode == livemode,
        PaymentIntent.status == Status.SUCCEEDED,
        PaymentIntent.succeeded_at >= start,
        PaymentIntent.succeeded_at < end,
    )
    rows = (await session.execute(query)).all()
    return [(int(at or 0), int(amount), int(fee)) for at, amount, fee in rows]


async def succeeded_refunds(
    session: AsyncSession, merchant_id: str, livemode: bool, start: int, end: int
) -> list[tuple[int, int]]:
    """(updated, amount) of refunds that succeeded in [start, end)."""
    query = select(Refund.updated, Refund.amount).where(
        Refund.merchant_id == merchant_id,
        Refund.livemode == livemode,
        Refund.status == "succeeded",
        Refund.updated >= start,
        Refund.updated < end,
    )
    rows = (await session.execute(query)).all()
    return [(int(at), int(amount)) for at, amount in rows]
