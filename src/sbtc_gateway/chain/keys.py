"""secp256k1 keys (via coincurve) that never show their secret in logs or reprs."""

from __future__ import annotations

from typing import NoReturn

import coincurve

from .c32 import c32_address
from .errors import SignatureError
from .hashing import hash160

# Half the curve order: a low-S signature has S <= this (the node rejects high-S ones).
SECP256K1_HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


class PrivateKey:
    """A secp256k1 private key that signs with compressed public keys.

    ``repr``/``str`` show only the public key; pickling and copying out are refused, so a key
    cannot leak through a log line, an exception message or a cache.
    """

    __slots__ = ("_key", "public_key")

    def __init__(self, secret: bytes):
        # stacks.js keys carry a trailing 0x01 (the "compressed" flag); drop it.
        if len(secret) == 33 and secret[32] == 0x01:
            secret = secret[:32]
        if len(secret) != 32:
            raise ValueError("a private key is 32 bytes (or 33 ending in 01)")
        try:
            self._key = coincurve.PrivateKey(secret)
        except Exception:  # coincurve raises ValueError for 0 or >= n
            raise ValueError("private key is out of range for secp256k1") from None
        self.public_key: bytes = self._key.public_key.format(compressed=True)

    @classmethod
    def from_hex(cls, text: str) -> PrivateKey:
        try:
            raw = bytes.fromhex(text.strip().removeprefix("0x"))
        except ValueError:
            raise ValueError("private key is not hex") from None
        return cls(raw)

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(coincurve.PrivateKey().secret)

    @property
    def hash160(self) -> bytes:
        return hash160(self.public_key)

    def address(self, version: int) -> str:
        """The single-sig c32 address for a version (e.g. ``network.single_sig_version``)."""
        return c32_address(version, self.hash160)

    def sign_rsv(self, digest: bytes) -> bytes:
        """Sign a 32-byte digest as is (no further hashing): 65 bytes R‖S‖V, low-S, RFC 6979."""
        if len(digest) != 32:
            raise SignatureError("can only sign a 32-byte digest")
        signature: bytes = self._key.sign_recoverable(digest, hasher=None)
        return signature

    def sign_vrs(self, digest: bytes) -> bytes:
        """Sign a 32-byte digest: 65 bytes V‖R‖S, the layout Stacks transactions store."""
        rsv = self.sign_rsv(digest)
        return rsv[64:] + rsv[:64]

    def to_hex(self) -> str:
        """The raw secret as hex. Only for writing a key to a secret store, never to a log."""
        return bytes(self._key.secret).hex()

    def __repr__(self) -> str:
        return f"PrivateKey(public_key={self.public_key.hex()}, secret=<redacted>)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("PrivateKey cannot be pickled")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PrivateKey) and other.public_key == self.public_key

    def __hash__(self) -> int:
        return hash(self.public_key)


def recover_public_key(digest: bytes, signature_rsv: bytes, *, compressed: bool = True) -> bytes:
    """Recover the public key that made a 65-byte R‖S‖V signature over a 32-byte digest."""
    if len(digest) != 32 or len(signature_rsv) != 65:
        raise SignatureError("need a 32-byte digest and a 65-byte signature")
    if signature_rsv[64] > 3:
        raise SignatureError("signature recovery id must be 0..3")
    if int.from_bytes(signature_rsv[32:64], "big") > SECP256K1_HALF_ORDER:
        raise SignatureError("signature is not low-S")
    try:
        key = coincurve.PublicKey.from_signature_and_message(signature_rsv, digest, hasher=None)
    except Exception:
        raise SignatureError("no public key can be recovered from this signature") from None
    recovered: bytes = key.format(compressed=compressed)
    return recovered


def verify_rsv(digest: bytes, signature_rsv: bytes, public_key: bytes) -> bool:
    """Check a 65-byte R‖S‖V signature over a digest against a public key (33 or 65 bytes)."""
    try:
        normalized = coincurve.PublicKey(public_key).format(compressed=True)
        return recover_public_key(digest, signature_rsv) == normalized
    except (SignatureError, ValueError, TypeError):
        return False
