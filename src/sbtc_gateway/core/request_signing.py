"""Request signing for sensitive operations: HMAC-SHA256 over time, nonce, method, path, body.

Header: `Sbtc-Signature: t=<unix seconds>,n=<nonce>,v1=<hex>`. The signed bytes are

    "<t>.<nonce>.<METHOD>.<path[?query]>." + raw body

and the key is the secret API key sent in `Authorization`, as UTF-8. The gateway accepts `t`
within 5 minutes of its clock (either side) and each nonce once per API key. See
docs/request-signing.md. This module has no dependencies so that clients can copy it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

HEADER = "Sbtc-Signature"
TOLERANCE_SECONDS = 300
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def signed_payload(timestamp: int, nonce: str, method: str, path: str, body: bytes) -> bytes:
    return f"{timestamp}.{nonce}.{method.upper()}.{path}.".encode() + body


def compute(key: str, timestamp: int, nonce: str, method: str, path: str, body: bytes) -> str:
    payload = signed_payload(timestamp, nonce, method, path, body)
    return hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()


def sign_header(
    key: str,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> str:
    """The header value a client sends (the client helper: copy this function)."""
    t = int(time.time()) if timestamp is None else timestamp
    n = nonce or secrets.token_urlsafe(18)
    return f"t={t},n={n},v1={compute(key, t, n, method, path, body)}"


@dataclass(frozen=True, slots=True)
class ParsedSignature:
    timestamp: int
    nonce: str
    signatures: tuple[str, ...]


def parse_header(value: str) -> ParsedSignature | None:
    timestamp: int | None = None
    nonce: str | None = None
    signatures: list[str] = []
    for part in value.split(","):
        name, _, item = part.strip().partition("=")
        if name == "t" and item.isdigit():
            timestamp = int(item)
        elif name == "n" and NONCE.match(item):
            nonce = item
        elif name == "v1" and re.fullmatch(r"[0-9a-f]{64}", item):
            signatures.append(item)
    if timestamp is None or nonce is None or not signatures:
        return None
    return ParsedSignature(timestamp, nonce, tuple(signatures))


def matches(expected: str, presented: tuple[str, ...]) -> bool:
    return any(hmac.compare_digest(expected, s) for s in presented)
