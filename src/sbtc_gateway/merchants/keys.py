"""API key format, generation and verification.

A key is `{sk|pk}_{test|live}_` followed by 33 random letters and digits. Only an HMAC-SHA256 of
the whole key under the server's `api_key_secret` is stored; the first ten random characters are
kept in clear as a lookup prefix (they identify the key but say nothing usable about the rest).
Comparison is constant-time.

Each secret key has a **request-signing secret** (`sksig_…`) shown with the key, once: an HMAC of
the key's digest under the server secret, so it is stored nowhere and cannot be computed from the
key alone. Sensitive calls are signed with it (docs/request-signing.md): a leaked bearer key by
itself cannot rotate keys, change webhook endpoints, refund or move payouts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from sbtc_gateway.core.ids import token

LOOKUP_CHARS = 10
SIGNING_SECRET_PREFIX = "sksig_"  # noqa: S105 (a prefix, not a secret)
KINDS = {"sk": "secret", "pk": "publishable"}


@dataclass(frozen=True, slots=True)
class ParsedKey:
    kind: str  # "secret" | "publishable"
    livemode: bool
    lookup: str


@dataclass(frozen=True, slots=True)
class NewKey:
    plaintext: str
    lookup: str
    digest: str
    last4: str
    kind: str
    livemode: bool

    def __repr__(self) -> str:  # never show the key itself
        return f"NewKey(kind={self.kind!r}, livemode={self.livemode}, lookup={self.lookup!r})"


def prefix_for(kind: str, livemode: bool) -> str:
    short = "sk" if kind == "secret" else "pk"
    return f"{short}_{'live' if livemode else 'test'}_"


def parse(key: str) -> ParsedKey | None:
    short, _, rest = key.partition("_")
    mode, _, random_part = rest.partition("_")
    if short not in KINDS or mode not in ("test", "live") or len(random_part) < LOOKUP_CHARS + 8:
        return None
    if len(key) > 128 or not random_part.isalnum() or not random_part.isascii():
        return None
    prefix = f"{short}_{mode}_"
    return ParsedKey(KINDS[short], mode == "live", prefix + random_part[:LOOKUP_CHARS])


def digest(secret: str, key: str) -> str:
    return hmac.new(secret.encode(), key.encode(), hashlib.sha256).hexdigest()


def generate(secret: str, kind: str, livemode: bool) -> NewKey:
    prefix = prefix_for(kind, livemode)
    plaintext = prefix + token(24)
    return NewKey(
        plaintext=plaintext,
        lookup=plaintext[: len(prefix) + LOOKUP_CHARS],
        digest=digest(secret, plaintext),
        last4=plaintext[-4:],
        kind=kind,
        livemode=livemode,
    )


def matches(stored_digest: str, candidate_digest: str) -> bool:
    return hmac.compare_digest(stored_digest, candidate_digest)


def signing_secret(secret: str, key_digest: str) -> str:
    """The request-signing secret of the key whose digest (`digest(secret, key)`) is given."""
    mac = hmac.new(secret.encode(), b"request-signing:" + key_digest.encode(), hashlib.sha256)
    return SIGNING_SECRET_PREFIX + base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
