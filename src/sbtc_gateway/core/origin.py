"""Where a change came from: an API request (its id and idempotency key) or the system."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Origin:
    request_id: str | None = None
    idempotency_key: str | None = None
    api_version: str | None = None
    # The caller's address and browser, kept on the events of the change for analytics (the
    # seed's payment_events): the address as resolved from trusted proxies.
    client_ip: str | None = None
    user_agent: str | None = None


SYSTEM = Origin()
