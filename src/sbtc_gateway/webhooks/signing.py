"""`Stripe-Signature` headers: `t=<unix>,v1=<hex>[,v1=<hex>…]`.

Each signature is HMAC-SHA256 keyed with the whole `whsec_…` string over `"<t>.<body>"`, where the
body is exactly the bytes sent. During a secret rotation's overlap both secrets sign.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from sbtc_gateway.core.ids import token

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + token(24)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header(secrets: list[str], body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={t}", *(f"v1={signature(s, t, body)}" for s in secrets)])
