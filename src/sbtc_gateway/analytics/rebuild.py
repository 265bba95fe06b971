"""`sbtc-gateway analytics rebuild [--merchant] [--since]`: the analytics rows from scratch.

The same functions as the consumer (`rollup.py`), run over every event of a merchant instead of
a batch of the outbox, in chunks of one transaction each, every chunk under the merchant's scope
locks (the consumer waits for it, and the other way round). Derived rows are pure functions of
their sources, so a rebuild writes the rows the consumer wrote — the test suite checks it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.analytics import derive, repository, rollup
from sbtc_gateway.analytics.models import BUCKET_SECONDS, DAY_SECONDS

CHUNK = 2_000
RANGE_DAYS = 31  # quarter hours and days recomputed per transaction


@dataclass
class RebuildReport:
    merchant_id: str
    events: int = 0
    payments: int = 0
    days: int = 0


async def _locked(session: AsyncSession, merchant_id: str) -> None:
    await repository.lock_scopes(session, [(merchant_id, False), (merchant_id, True)])


async def rebuild_merchant(
    sessions: async_sessionmaker[AsyncSession], merchant_id: str, since: int | None = None
) -> RebuildReport:
    report = RebuildReport(merchant_id)
    async with sessions.begin() as session:
        await _locked(session, merchant_id)
        await repository.delete_payment_events(session, merchant_id, since)
    after: str | None = None
    while True:  # 1. payment_events from events
        async with sessions.begin() as session:
            await _locked(session, merchant_id)
            events = await repository.events_of(session, merchant_id, since, after, CHUNK)
            rows = [r for r in (derive.payment_event(e) for e in events) if r is not None]
            await repository.insert_payment_events(session, rows)
        if not events:
            break
        report.events += len(events)
        after = events[-1]["id"]
    touched: dict[bool, set[int]] = {False: set(), True: set()}
    after = None
    while True:  # 2. the payments these events concern
        async with sessions.begin() as session:
            await _locked(session, merchant_id)
            ids = await repository.payment_ids_since(session, merchant_id, since, after, CHUNK)
            modes = await repository.summary_modes(session, ids)
            for payment_id, times in (await rollup.resummarize(session, ids)).items():
                touched[modes.get(payment_id, False)].update(times)
        if not ids:
            break
        report.payments += len(ids)
        after = ids[-1]
    for livemode in (False, True):  # 3. every window from `since` on, and those touched before
        report.days += await _windows(sessions, merchant_id, livemode, since, touched[livemode])
    return report


async def _windows(
    sessions: async_sessionmaker[AsyncSession],
    merchant_id: str,
    livemode: bool,
    since: int | None,
    touched: set[int],
) -> int:
    async with sessions.begin() as session:
        await _locked(session, merchant_id)
        first, last = await repository.activity_bounds(session, merchant_id, livemode)
        start = since if since is not None else first
        if start is not None:
            start -= start % DAY_SECONDS
            await repository.delete_derived(session, merchant_id, livemode, start)
        earlier = sorted(t for t in touched if start is None or t < start)
        if earlier:
            await rollup.recompute(session, merchant_id, livemode, earlier)
    if start is None or last is None:
        return 0
    end = last - last % DAY_SECONDS + DAY_SECONDS
    days = 0
    step = RANGE_DAYS * DAY_SECONDS
    for low in range(start, end, step):
        high = min(low + step, end)
        async with sessions.begin() as session:
            await _locked(session, merchant_id)
            await rollup.recompute_intervals(session, merchant_id, livemode, low, high)
            await rollup.recompute_days(session, merchant_id, livemode, low, high)
        days += (high - low) // DAY_SECONDS
    assert step % BUCKET_SECONDS == 0
    return days


async def rebuild(
    sessions: async_sessionmaker[AsyncSession],
    *,
    merchant_id: str | None = None,
    since: int | None = None,
) -> list[RebuildReport]:
    async with sessions() as session:
        merchants = (
            [merchant_id] if merchant_id else await repository.merchants_with_events(session)
        )
    return [await rebuild_merchant(sessions, m, since) for m in merchants]
