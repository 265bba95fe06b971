"""The gateway's `Authenticator`: API keys (merchants) and dashboard access tokens (users).

Both answers are cached for at most `SBTC_AUTH_CACHE_SECONDS` (≤ 1 s) and dropped at once on
every replica when access changes (`HttpContext.invalidate_auth`): a key lookup is a prefix
query plus an HMAC compared in constant time; a token is its RS256 signature and claims, then
the session's state (user alive, role, session not revoked).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.errors import GatewayError
from sbtc_gateway.core.principal import AuthenticatedKey
from sbtc_gateway.core.ttlcache import TTLCache
from sbtc_gateway.merchants import keys
from sbtc_gateway.merchants import service as merchants
from sbtc_gateway.merchants.tiers import RATE_LIMIT_MULTIPLIER, Tier
from sbtc_gateway.users import repository as users
from sbtc_gateway.users.repository import SessionState
from sbtc_gateway.users.roles import ALL, permissions_for
from sbtc_gateway.users.tokens import TokenSigner, looks_like_jwt


def _invalid(key: str) -> GatewayError:
    shown = key[:8] + "*" * 8 + key[-4:] if len(key) > 16 else "****"
    return codes.API_KEY_INVALID(key=shown)


@dataclass
class GatewayAuthenticator:
    sessions: async_sessionmaker[AsyncSession]
    key_secret: str
    signer: TokenSigner
    live: bool
    cache_seconds: float = 1.0
    keys_cache: TTLCache[str, AuthenticatedKey | None] = field(init=False)
    sessions_cache: TTLCache[str, SessionState | None] = field(init=False)

    def __post_init__(self) -> None:
        self.keys_cache = TTLCache(self.cache_seconds, 10_000)
        self.sessions_cache = TTLCache(self.cache_seconds, 10_000)

    def forget(self) -> None:
        self.keys_cache.clear()
        self.sessions_cache.clear()

    def signing_secret(self, presented: str) -> str:
        return keys.signing_secret(self.key_secret, keys.digest(self.key_secret, presented))

    def rate_limit_multiplier(self, tier: str) -> int:
        try:
            return RATE_LIMIT_MULTIPLIER[Tier(tier)]
        except ValueError:
            return 1

    def permissions_of(self, caller: AuthenticatedKey) -> frozenset[str]:
        if caller.kind == "secret":
            return ALL
        if caller.kind == "user" and caller.role is not None:
            return permissions_for(caller.role, caller.livemode)
        return frozenset()

    async def authenticate(self, presented: str) -> AuthenticatedKey:
        if looks_like_jwt(presented):
            return await self._token(presented)
        parsed = keys.parse(presented)
        if parsed is None:
            raise _invalid(presented)
        if parsed.livemode and not self.live:
            raise codes.LIVEMODE_DISABLED(credential="keys")
        candidate = keys.digest(self.key_secret, presented)
        hit, auth = self.keys_cache.get(candidate)
        if hit and auth is not None and auth.expires_at is not None:
            hit = auth.expires_at > time.time()  # a rotated key's grace ended while cached
        if not hit:
            async with self.sessions() as session:
                auth = await merchants.authenticate(session, parsed, candidate)
            self.keys_cache.set(candidate, auth)
        if auth is None:
            raise _invalid(presented)
        return auth

    async def _token(self, token: str) -> AuthenticatedKey:
        claims = self.signer.verify(token)
        if claims.livemode and not self.live:
            raise codes.LIVEMODE_DISABLED(credential="tokens")
        cache_key = f"{claims.user_id}:{claims.session_id}"
        hit, state = self.sessions_cache.get(cache_key)
        if not hit:
            async with self.sessions() as session:
                state = await users.session_state(
                    session, claims.user_id, claims.session_id, int(time.time())
                )
            self.sessions_cache.set(cache_key, state)
        if state is None or state.merchant_id != claims.merchant_id:
            raise codes.SESSION_REVOKED()
        return AuthenticatedKey(
            api_key_id=claims.user_id,
            merchant_id=state.merchant_id,
            livemode=claims.livemode,
            kind="user",
            expires_at=claims.expires_at,
            tier=state.tier,
            role=state.role,
            session_id=claims.session_id,
        )
