"""Stripe cursor paging over time-sortable ids (newest first)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from sbtc_gateway.core import error_codes as codes

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise codes.PARAMETER_INVALID_INTEGER(
            param="limit", message=f"Invalid limit: must be between 1 and {MAX_LIMIT}."
        )
    return limit


def finish_page(rows: Sequence[Any], limit: int, reversed_: bool) -> tuple[list[Any], bool]:
    items = list(rows[:limit])
    has_more = len(rows) > limit
    if reversed_:
        items.reverse()
    return items, has_more


def list_envelope(data: list[dict[str, Any]], has_more: bool, url: str) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def search_envelope(
    data: list[dict[str, Any]], has_more: bool, next_page: str | None, url: str
) -> dict[str, Any]:
    return {
        "object": "search_result",
        "data": data,
        "has_more": has_more,
        "next_page": next_page,
        "url": url,
    }


def encode_page(last_id: str) -> str:
    """A search result's `next_page` cursor: the last id shown, opaque to the client."""
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_page(page: str, prefix: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(page + "=" * (-len(page) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise codes.PARAMETER_INVALID(param="page", message="Invalid page cursor.") from None
    if not raw.startswith(prefix) or len(raw) > 36:
        raise codes.PARAMETER_INVALID(param="page", message="Invalid page cursor.")
    return raw
