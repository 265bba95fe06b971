"""Stripe-style public ids: a type prefix and a time-sortable, random suffix.

The suffix is a ULID in Crockford base32 (26 characters: 48 bits of milliseconds, 80 random bits),
so ids sort by creation time and list paging can order by id alone. Within one millisecond the
random part is incremented, keeping ids from one process strictly increasing. The longest id
(`acct_` + 26) is 31 characters, inside the contract's `string-ascii 36`.
"""

from __future__ import annotations

import secrets
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0
_RAND_MAX = (1 << 80) - 1


def _encode(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        out.append(_CROCKFORD[rem])
    return "".join(reversed(out))


def ulid() -> str:
    global _last_ms, _last_rand
    with _lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms and _last_rand < _RAND_MAX:
            now = _last_ms
            rand = _last_rand + 1 + secrets.randbelow(1 << 16)
            rand = min(rand, _RAND_MAX)
        else:
            rand = secrets.randbits(80)
        _last_ms, _last_rand = now, rand
    return _encode(now, 10) + _encode(rand, 16)


def new_id(prefix: str) -> str:
    return f"{prefix}_{ulid()}"


def created_ms(public_id: str) -> int:
    """When an id made by `new_id` was made (unix milliseconds, from its ULID's time part)."""
    value = 0
    for char in public_id.rpartition("_")[2][:10]:
        value = value * 32 + _CROCKFORD.index(char)
    return value


def token(nbytes: int = 24) -> str:
    """URL-safe random text with only letters and digits (Stripe secrets look like this)."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    # 62**n > 256**nbytes  <=>  n > nbytes * 8 / log2(62); 1.35 chars per byte is enough.
    length = (nbytes * 135 + 99) // 100
    return "".join(secrets.choice(alphabet) for _ in range(length))
