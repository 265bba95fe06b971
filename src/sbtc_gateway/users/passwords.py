"""argon2id password hashes (argon2-cffi's RFC 9106 low-memory profile).

Hashing and verifying take tens of milliseconds of CPU and 64 MiB: they run in a worker thread
so the event loop keeps serving. Login with an unknown email still verifies once, against a
dummy hash, so the answer time does not tell whether the email exists.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sbtc_gateway.core import error_codes as codes

MIN_LENGTH = 12
MAX_LENGTH = 256

_hasher = PasswordHasher()  # argon2id


def check_strength(password: str | None, *, param: str) -> str:
    if password is None or password == "":
        raise codes.PARAMETER_MISSING(param=param)
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise codes.PARAMETER_INVALID(
            param=param, message=f"{param} must be {MIN_LENGTH} to {MAX_LENGTH} characters."
        )
    return password


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not a password anyone has: timing equaliser")


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches `stored`; with `stored=None` spends the same time, False."""
    return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
