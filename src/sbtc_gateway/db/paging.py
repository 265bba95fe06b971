"""SQL for Stripe cursor paging (newest first) and `created` range filters."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.paging import finish_page

T = TypeVar("T")

__all__ = ["created_filter", "finish_page", "page_query"]


def page_query(
    query: Select[T],
    id_column: InstrumentedAttribute[str],
    *,
    limit: int,
    starting_after: str | None,
    ending_before: str | None,
) -> tuple[Select[T], bool]:
    """Apply cursor and order; returns the query (fetch limit + 1) and whether it is reversed."""
    if starting_after and ending_before:
        raise codes.PARAMETERS_EXCLUSIVE(param="ending_before", other="starting_after")
    if ending_before:
        q = query.where(id_column > ending_before).order_by(id_column.asc())
        return q.limit(limit + 1), True
    if starting_after:
        query = query.where(id_column < starting_after)
    return query.order_by(id_column.desc()).limit(limit + 1), False


def created_filter(query: Select[T], column: Any, created: Any) -> Select[T]:
    if created is None:
        return query
    if isinstance(created, int):
        return query.where(column == created)
    if created.gt is not None:
        query = query.where(column > created.gt)
    if created.gte is not None:
        query = query.where(column >= created.gte)
    if created.lt is not None:
        query = query.where(column < created.lt)
    if created.lte is not None:
        query = query.where(column <= created.lte)
    return query
