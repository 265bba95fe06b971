"""What the HTTP toolkit needs from the running gateway, without knowing any domain.

The composition root (`sbtc_gateway.runtime`) builds one `HttpContext` per app and keeps it on
`app.state.http`. It carries the few things every endpoint uses (settings, sessions, shared
state, the authenticator, the after-commit hook) and a typed registry for what only some
domains need: `ctx.get(PaymentSettings)` answers the instance the root provided, so a domain's
endpoints ask for their own dependencies by type and the toolkit never imports them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.config import Settings
from sbtc_gateway.core import crypto
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.infra.shared import SharedState

T = TypeVar("T")
AfterCommit = Callable[[AsyncSession], Awaitable[None]]


class Authenticator(Protocol):
    """Turns a presented bearer (an API key or a dashboard access token) into a principal."""

    async def authenticate(self, presented: str) -> AuthenticatedKey:
        """The caller, or `AuthenticationError`."""
        ...

    def permissions_of(self, caller: AuthenticatedKey) -> frozenset[str]: ...

    def signing_secret(self, presented: str) -> str:
        """The request-signing secret (`sksig_…`) of a presented secret key."""
        ...

    def rate_limit_multiplier(self, tier: str) -> int: ...

    def forget(self) -> None:
        """Drop every cached answer (a key was rotated, a session ended)."""
        ...


async def _nothing(session: AsyncSession) -> None:
    return None


@dataclass
class HttpContext:
    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    shared: SharedState
    authenticator: Authenticator
    after_commit: AfterCommit = _nothing
    # Called by `invalidate_auth` on this replica; other replicas hear of it by pub/sub.
    on_access_change: list[Callable[[], None]] = field(default_factory=list)
    _provided: dict[type[Any], Any] = field(default_factory=dict)

    ACCESS_CHANNEL = "auth-invalidate"

    def __post_init__(self) -> None:
        self.shared.pubsub.subscribe(self.ACCESS_CHANNEL, self._heard_access_change)

    def provide(self, instance: Any, as_type: type[Any] | None = None) -> None:
        self._provided[as_type or type(instance)] = instance

    def get(self, kind: type[T]) -> T:
        try:
            found: T = self._provided[kind]
        except KeyError:
            raise LookupError(f"the composition root provided no {kind.__name__}") from None
        return found

    async def _heard_access_change(self, message: bytes) -> None:
        self._forget_access()

    def _forget_access(self) -> None:
        self.authenticator.forget()
        for forget in self.on_access_change:
            forget()

    async def invalidate_auth(self) -> None:
        """A key was rotated or revoked, a session ended, or an account changed: this replica
        forgets at once, the others when the pub/sub message arrives (and within the caches'
        lifetime, ≤ 1 s, if it never does)."""
        self._forget_access()
        await self.shared.pubsub.publish(self.ACCESS_CHANNEL, b"*")

    @cached_property
    def keyring(self) -> crypto.Keyring:
        """The keyring for data at rest (SBTC_ENCRYPTION_KEYS): stored idempotent responses are
        sealed with it (`api/mutation.py` hands it to `idempotency.service`)."""
        return crypto.keyring(self.settings.keyring_keys())

    @property
    def key_secret(self) -> str:
        """The server's HMAC key for stored key digests and derived secrets."""
        return self.settings.secret("api_key_secret")
