"""Hash functions used by Stacks: SHA-256, SHA-512/256, RIPEMD-160 and hash160.

``hashlib`` provides SHA-512/256 and RIPEMD-160 only where OpenSSL was built with them (OpenSSL 3
moves RIPEMD-160 to the legacy provider), so both have pure-Python fallbacks. The fallbacks are
slow but exact; the tests compare them with ``hashlib`` wherever it has the algorithm.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable

_MASK64 = (1 << 64) - 1
_MASK32 = 0xFFFFFFFF


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --- SHA-512/256 (FIPS 180-4), pure Python -------------------------------------------------


def _first_primes(count: int) -> list[int]:
    primes: list[int] = []
    candidate = 2
    while len(primes) < count:
        if all(candidate % p for p in primes if p * p <= candidate):
            primes.append(candidate)
        candidate += 1
    return primes


def _iroot(value: int, k: int) -> int:
    """Largest integer r with r**k <= value."""
    low, high = 0, 1 << (value.bit_length() // k + 1)
    while low < high:
        mid = (low + high + 1) // 2
        if mid**k <= value:
            low = mid
        else:
            high = mid - 1
    return low


def _frac_bits(prime: int, k: int) -> int:
    # First 64 bits of the fractional part of prime ** (1/k), the way FIPS 180-4 defines them.
    return _iroot(prime << (64 * k), k) & _MASK64


_PRIMES = _first_primes(80)
_K512 = tuple(_frac_bits(p, 3) for p in _PRIMES)
_H512 = tuple(_frac_bits(p, 2) for p in _PRIMES[:8])


def _rotr64(x: int, n: int) -> int:
    return ((x >> n) | (x << (64 - n))) & _MASK64


def _sha512_compress(state: list[int], block: bytes) -> None:
    w = list(struct.unpack(">16Q", block))
    for i in range(16, 80):
        s0 = _rotr64(w[i - 15], 1) ^ _rotr64(w[i - 15], 8) ^ (w[i - 15] >> 7)
        s1 = _rotr64(w[i - 2], 19) ^ _rotr64(w[i - 2], 61) ^ (w[i - 2] >> 6)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & _MASK64)
    a, b, c, d, e, f, g, h = state
    for i in range(80):
        t1 = (
            h
            + (_rotr64(e, 14) ^ _rotr64(e, 18) ^ _rotr64(e, 41))
            + ((e & f) ^ (~e & g))
            + _K512[i]
            + w[i]
        ) & _MASK64
        t2 = (
            (_rotr64(a, 28) ^ _rotr64(a, 34) ^ _rotr64(a, 39)) + ((a & b) ^ (a & c) ^ (b & c))
        ) & (_MASK64)
        h, g, f, e, d, c, b, a = g, f, e, (d + t1) & _MASK64, c, b, a, (t1 + t2) & _MASK64
    for i, v in enumerate((a, b, c, d, e, f, g, h)):
        state[i] = (state[i] + v) & _MASK64


def _sha512_with_iv(iv: tuple[int, ...], data: bytes) -> bytes:
    state = list(iv)
    padded = (
        data + b"\x80" + b"\x00" * ((111 - len(data)) % 128) + (len(data) * 8).to_bytes(16, "big")
    )
    for offset in range(0, len(padded), 128):
        _sha512_compress(state, padded[offset : offset + 128])
    return struct.pack(">8Q", *state)


# FIPS 180-4 §5.3.6: the SHA-512/t IV is SHA-512 (with a tweaked IV) of the string "SHA-512/t".
_H512_256 = struct.unpack(
    ">8Q", _sha512_with_iv(tuple(h ^ 0xA5A5A5A5A5A5A5A5 for h in _H512), b"SHA-512/256")
)


def sha512_256_pure(data: bytes) -> bytes:
    return _sha512_with_iv(_H512_256, data)[:32]


# --- RIPEMD-160, pure Python ---------------------------------------------------------------

# fmt: off
_R_LEFT = (
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    7, 4, 13, 1, 10, 6, 15, 3, 12, 0, 9, 5, 2, 14, 11, 8,
    3, 10, 14, 4, 9, 15, 8, 1, 2, 7, 0, 6, 13, 11, 5, 12,
    1, 9, 11, 10, 0, 8, 12, 4, 13, 3, 7, 15, 14, 5, 6, 2,
    4, 0, 5, 9, 7, 12, 2, 10, 14, 1, 3, 8, 11, 6, 15, 13,
)
_R_RIGHT = (
    5, 14, 7, 0, 9, 2, 11, 4, 13, 6, 15, 8, 1, 10, 3, 12,
    6, 11, 3, 7, 0, 13, 5, 10, 14, 15, 8, 12, 4, 9, 1, 2,
    15, 5, 1, 3, 7, 14, 6, 9, 11, 8, 12, 2, 10, 0, 4, 13,
    8, 6, 4, 1, 3, 11, 15, 0, 5, 12, 2, 13, 9, 7, 10, 14,
    12, 15, 10, 4, 1, 5, 8, 7, 6, 2, 13, 14, 0, 3, 9, 11,
)
_S_LEFT = (
    11, 14, 15, 12, 5, 8, 7, 9, 11, 13, 14, 15, 6, 7, 9, 8,
    7, 6, 8, 13, 11, 9, 7, 15, 7, 12, 15, 9, 11, 7, 13, 12,
    11, 13, 6, 7, 14, 9, 13, 15, 14, 8, 13, 6, 5, 12, 7, 5,
    11, 12, 14, 15, 14, 15, 9, 8, 9, 14, 5, 6, 8, 6, 5, 12,
    9, 15, 5, 11, 6, 8, 13, 12, 5, 12, 13, 14, 11, 8, 5, 6,
)
_S_RIGHT = (
    8, 9, 9, 11, 13, 15, 15, 5, 7, 7, 8, 11, 14, 14, 12, 6,
    9, 13, 15, 7, 12, 8, 9, 11, 7, 7, 12, 7, 6, 15, 13, 11,
    9, 7, 15, 11, 8, 6, 6, 14, 12, 13, 5, 14, 13, 13, 7, 5,
    15, 5, 8, 11, 14, 14, 6, 14, 6, 9, 12, 9, 12, 5, 15, 8,
    8, 5, 12, 9, 12, 5, 14, 6, 8, 13, 6, 5, 15, 13, 11, 11,
)
# fmt: on
_K_LEFT = (0x00000000, 0x5A827999, 0x6ED9EBA1, 0x8F1BBCDC, 0xA953FD4E)
_K_RIGHT = (0x50A28BE6, 0x5C4DD124, 0x6D703EF3, 0x7A6D76E9, 0x00000000)


def _rotl32(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & _MASK32


def _ripemd_f(round_: int, x: int, y: int, z: int) -> int:
    if round_ == 0:
        return x ^ y ^ z
    if round_ == 1:
        return (x & y) | (~x & z)
    if round_ == 2:
        return (x | ~y) ^ z
    if round_ == 3:
        return (x & z) | (y & ~z)
    return x ^ (y | ~z)


def ripemd160_pure(data: bytes) -> bytes:
    h = [0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0]
    padded = (
        data + b"\x80" + b"\x00" * ((55 - len(data)) % 64) + (len(data) * 8).to_bytes(8, "little")
    )
    for offset in range(0, len(padded), 64):
        x = struct.unpack("<16I", padded[offset : offset + 64])
        al, bl, cl, dl, el = h
        ar, br, cr, dr, er = h
        for j in range(80):
            rnd = j // 16
            t = (
                al + (_ripemd_f(rnd, bl, cl, dl) & _MASK32) + x[_R_LEFT[j]] + _K_LEFT[rnd]
            ) & _MASK32
            t = (_rotl32(t, _S_LEFT[j]) + el) & _MASK32
            al, el, dl, cl, bl = el, dl, _rotl32(cl, 10), bl, t
            t = (
                ar + (_ripemd_f(4 - rnd, br, cr, dr) & _MASK32) + x[_R_RIGHT[j]] + _K_RIGHT[rnd]
            ) & _MASK32
            t = (_rotl32(t, _S_RIGHT[j]) + er) & _MASK32
            ar, er, dr, cr, br = er, dr, _rotl32(cr, 10), br, t
        t = (h[1] + cl + dr) & _MASK32
        h[1] = (h[2] + dl + er) & _MASK32
        h[2] = (h[3] + el + ar) & _MASK32
        h[3] = (h[4] + al + br) & _MASK32
        h[4] = (h[0] + bl + cr) & _MASK32
        h[0] = t
    return struct.pack("<5I", *h)


# --- selection ---------------------------------------------------------------------------------


def _hashlib_or(name: str, fallback: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    try:
        hashlib.new(name, b"")
    except (ValueError, TypeError):
        return fallback

    def digest(data: bytes) -> bytes:
        return hashlib.new(name, data).digest()

    return digest


sha512_256: Callable[[bytes], bytes] = _hashlib_or("sha512_256", sha512_256_pure)
ripemd160: Callable[[bytes], bytes] = _hashlib_or("ripemd160", ripemd160_pure)


def hash160(data: bytes) -> bytes:
    """RIPEMD160(SHA256(data)): the signer hash of a public key."""
    return ripemd160(sha256(data))
