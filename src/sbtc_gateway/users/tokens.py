"""RS256 access tokens (JWT) and opaque refresh tokens.

Access tokens are verified with the public key only and with `algorithms=["RS256"]` pinned, so
`alg: none` and HS256 tokens "signed" with the public key are refused. Every claim the gateway
relies on is required. Refresh tokens are random strings (`rt_…`); only an HMAC-SHA256 of them
under the server's key secret is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import RSAAlgorithm

from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.rsa_keys import (
    load_private_key,
)

ISSUER = "sbtc-gateway"
AUDIENCE = "sbtc-gateway:dashboard"
ALGORITHM = "RS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]
REFRESH_PREFIX = "rt_"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    merchant_id: str
    session_id: str  # the refresh-token family this access token belongs to
    role: str
    livemode: bool
    jti: str
    expires_at: int


class TokenSigner:
    """Signs and verifies access tokens with one RSA key (its `kid` is a key thumbprint)."""

    def __init__(self, private_pem: str, *, access_ttl: int) -> None:
        self._private = load_private_key(private_pem)
        self._public = self._private.public_key()
        der = self._public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        digest = hashlib.sha256(der).digest()
        self.kid = base64.urlsafe_b64encode(digest).decode().rstrip("=")[:16]
        self.access_ttl = access_ttl

    def public_pem(self) -> bytes:
        return self._public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def jwks(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self._public, as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": ALGORITHM})
        return {"keys": [jwk]}

    def issue(
        self,
        *,
        user_id: str,
        merchant_id: str,
        session_id: str,
        role: str,
        permissions: frozenset[str],
        livemode: bool,
        now: int | None = None,
    ) -> tuple[str, int]:
        issued = int(time.time()) if now is None else now
        expires = issued + self.access_ttl
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id,
            "iat": issued,
            "nbf": issued,
            "exp": expires,
            "jti": secrets.token_urlsafe(16),
            "sid": session_id,
            "merchant_id": merchant_id,
            "role": role,
            "permissions": sorted(permissions),
            "livemode": livemode,
        }
        return jwt.encode(claims, self._private, ALGORITHM, headers={"kid": self.kid}), expires

    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid token; AuthenticationError (401) for anything else."""
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": REQUIRED_CLAIMS},
                leeway=5,
            )
            return AccessClaims(
                user_id=_text(claims, "sub"),
                merchant_id=_text(claims, "merchant_id"),
                session_id=_text(claims, "sid"),
                role=_text(claims, "role"),
                livemode=_flag(claims, "livemode"),
                jti=_text(claims, "jti"),
                expires_at=int(claims["exp"]),
            )
        except jwt.ExpiredSignatureError:
            raise codes.TOKEN_EXPIRED() from None
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise codes.INVALID_TOKEN() from None


def _text(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(name)
    return value


def _flag(claims: dict[str, Any], name: str) -> bool:
    value = claims.get(name)
    if not isinstance(value, bool):
        raise ValueError(name)
    return value


def looks_like_jwt(value: str) -> bool:
    """API keys are `sk_…`/`pk_…`; a compact JWS has three dot-separated parts."""
    return value.count(".") == 2 and not value.startswith(("sk_", "pk_"))


def new_refresh_token() -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def refresh_digest(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()
