"""Where a change came from: an API request (its id and idempotency key) or the system."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Origin:
    request_id: str | None = None
    idempotency_key: str | None = None
    api_version: str | None = None


SYSTEM = Origin()
