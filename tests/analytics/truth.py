"""The figures again, from the ledger and the domain tables (never the analytics tables)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from sbtc_gateway.charges.models import Charge
from sbtc_gateway.events.models import Event
from sbtc_gateway.ledger.models import BalanceTransaction
from sbtc_gateway.payments.models import PaymentIntent


class Truth:
    def __init__(
        self, ledger: list[Any], intents: list[Any], events: list[Any], charges: list[Any]
    ):
        self.ledger, self.intents, self.events, self.charges = ledger, intents, events, charges

    @classmethod
    async def load(cls, sessions: Any, merchant_id: str) -> Truth:
        async with sessions() as s:
            ledger = (
                await s.execute(
                    select(
                        BalanceTransaction.created, BalanceTransaction.type,
                        BalanceTransaction.amount, BalanceTransaction.fee, BalanceTransaction.net,
                    ).where(
                        BalanceTransaction.merchant_id == merchant_id,
                        BalanceTransaction.livemode.is_(False),
                        BalanceTransaction.account == "merchant",
                    )
                )
            ).all()  # fmt: skip
            intents = (
                await s.scalars(
                    select(PaymentIntent).where(PaymentIntent.merchant_id == merchant_id)
                )
            ).all()
            events = (
                await s.execute(
                    select(Event.type, Event.created).where(Event.merchant_id == merchant_id)
                )
            ).all()
            charges = (
                await s.scalars(select(Charge).where(Charge.merchant_id == merchant_id))
            ).all()
        return cls(list(ledger), list(intents), list(events), list(charges))

    def money(self, start: int, end: int) -> dict[str, int]:
        out = dict.fromkeys(("gross", "fees", "refunds", "reversals", "net", "charges"), 0)
        for created, type_, amount, fee, net in self.ledger:
            if not start <= created < end:
                continue
            out["net"] += net
            if type_ == "charge":
                out["gross"] += amount
                out["fees"] += fee
                out["charges"] += 1
            elif type_ == "payment_reversal":
                out["reversals"] -= amount
                out["fees"] += fee
            elif type_ in ("refund", "refund_failure"):
                out["refunds"] -= amount
        return out

    def counts(self, start: int, end: int) -> dict[str, int]:
        def between(ts: int | None) -> bool:
            return ts is not None and start <= ts < end

        canceled = [
            pi for pi in self.intents if pi.status == "canceled" and between(pi.canceled_at)
        ]
        return {
            "created": sum(1 for pi in self.intents if between(pi.created)),
            "converted": sum(
                1 for pi in self.intents if between(pi.created) and pi.status == "succeeded"
            ),
            "succeeded": sum(
                1 for t, c in self.events if t == "payment_intent.succeeded" and between(c)
            ),
            "failed": sum(1 for t, c in self.events if t == "charge.failed" and between(c)),
            "expired": sum(1 for pi in canceled if pi.cancellation_reason == "expired"),
            "canceled": sum(1 for pi in canceled if pi.cancellation_reason != "expired"),
        }

    def created_in(self, start: int, end: int) -> list[Any]:
        return [pi for pi in self.intents if start <= pi.created < end]

    def paid(self, end: int) -> list[Any]:
        """Succeeded intents (payer, when, amount) before `end`."""
        return [
            pi
            for pi in self.intents
            if pi.status == "succeeded" and pi.succeeded_at is not None and pi.succeeded_at < end
        ]


def local_key(ts: int, tz: ZoneInfo, interval: str) -> str:
    d = datetime.fromtimestamp(ts, tz).date()
    if interval == "week":
        d -= timedelta(days=d.weekday())
    elif interval == "month":
        d = d.replace(day=1)
    return d.isoformat()


def by_local(rows: list[tuple[int, int]], tz: ZoneInfo, interval: str) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for ts, value in rows:
        out[local_key(ts, tz, interval)] += value
    return dict(out)


def nearest_rank(values: list[int], p: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(1, -(-round(p * 100) * len(ordered) // 100))
    return ordered[k - 1]
