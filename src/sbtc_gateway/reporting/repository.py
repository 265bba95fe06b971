"""All SQL of report runs and files: scoped reads, and the workers' leased claims."""

from __future__ import annotations

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from sbtc_gateway.db.paging import finish_page, page_query
from sbtc_gateway.reporting.models import ReportRun, StoredFile


async def get_run(
    session: AsyncSession, merchant_id: str, livemode: bool, run_id: str
) -> ReportRun | None:
    found: ReportRun | None = await session.scalar(
        select(ReportRun).where(
            ReportRun.id == run_id,
            ReportRun.merchant_id == merchant_id,
            ReportRun.livemode == livemode,
        )
    )
    return found


async def get_file(
    session: AsyncSession, merchant_id: str, livemode: bool, file_id: str
) -> StoredFile | None:
    found: StoredFile | None = await session.scalar(
        select(StoredFile).where(
            StoredFile.id == file_id,
            StoredFile.merchant_id == merchant_id,
            StoredFile.livemode == livemode,
        )
    )
    return found


async def files_by_id(session: AsyncSession, ids: list[str]) -> dict[str, StoredFile]:
    if not ids:
        return {}
    rows = (await session.scalars(select(StoredFile).where(StoredFile.id.in_(ids)))).all()
    return {f.id: f for f in rows}


async def list_runs(
    session: AsyncSession, merchant_id: str, livemode: bool, *, limit: int,
    starting_after: str | None, ending_before: str | None,
) -> tuple[list[ReportRun], bool]:  # fmt: skip
    query = select(ReportRun).where(
        ReportRun.merchant_id == merchant_id, ReportRun.livemode == livemode
    )
    paged, reversed_ = page_query(
        query, ReportRun.id, limit=limit, starting_after=starting_after, ending_before=ending_before
    )
    return finish_page((await session.scalars(paged)).all(), limit, reversed_)


async def claim(
    session: AsyncSession, now: int, lease_seconds: int, token: str
) -> ReportRun | None:
    """The oldest pending run whose lease (if any) has ended, leased to `token`."""
    free = or_(ReportRun.lease_until.is_(None), ReportRun.lease_until < now)
    run: ReportRun | None = await session.scalar(
        select(ReportRun)
        .where(ReportRun.status == "pending", free)
        .order_by(ReportRun.created, ReportRun.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if run is None:
        return None
    run.lease_until, run.lease_token = now + lease_seconds, token
    run.attempts += 1
    return run


async def lock_leased(session: AsyncSession, run_id: str, token: str) -> ReportRun | None:
    """The run, if it is still pending under our lease (else another worker took it over)."""
    run: ReportRun | None = await session.scalar(
        select(ReportRun)
        .where(
            ReportRun.id == run_id, ReportRun.lease_token == token, ReportRun.status == "pending"
        )
        .with_for_update()
    )
    return run


async def pending_count(session: AsyncSession) -> int:
    from sqlalchemy import func

    n = await session.scalar(
        select(func.count()).select_from(ReportRun).where(ReportRun.status == "pending")
    )
    return int(n or 0)


__all__ = ["claim", "update"]
