"""Stripe cursor paging over time-sortable ids (newest first)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from sbtc_gateway.core.errors import ParameterError

T = TypeVar("T")

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ParameterError(
            f"Invalid limit: must be between 1 and {MAX_LIMIT}.",
            param="limit",
            code="parameter_invalid_integer",
        )
    return limit


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
        raise ParameterError(
            "You may only specify one of starting_after and ending_before.",
            param="ending_before",
            code="parameters_exclusive",
        )
    if ending_before:
        q = query.where(id_column > ending_before).order_by(id_column.asc())
        return q.limit(limit + 1), True
    if starting_after:
        query = query.where(id_column < starting_after)
    return query.order_by(id_column.desc()).limit(limit + 1), False


def finish_page(rows: Sequence[Any], limit: int, reversed_: bool) -> tuple[list[Any], bool]:
    items = list(rows[:limit])
    has_more = len(rows) > limit
    if reversed_:
        items.reverse()
    return items, has_more


def list_envelope(data: list[dict[str, Any]], has_more: bool, url: str) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


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
