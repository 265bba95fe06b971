"""Who is calling: the principal every service takes (an API key or a dashboard user)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AuthenticatedKey:
    """Who is calling: cached for at most a second, so it holds nothing secret.

    `kind` is "secret" or "publishable" for API keys, "user" for a dashboard user's access
    token; then `api_key_id` is the user id (the scope of idempotency keys and rate limits),
    `session_id` the refresh-token family and `role` the user's current role.
    """

    api_key_id: str
    merchant_id: str
    livemode: bool
    kind: str
    expires_at: int | None
    tier: str = "starter"
    role: str | None = None
    session_id: str | None = None

    @property
    def user_id(self) -> str | None:
        return self.api_key_id if self.kind == "user" else None
