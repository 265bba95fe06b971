"""RSA signing keys (PEM) for dashboard access tokens: generated in test mode, checked at start.

Kept in the kernel because the configuration checks the key before anything else starts.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

MIN_KEY_BITS = 2048


class InvalidSigningKeyError(ValueError):
    """The configured private key is not a usable RSA key."""


def generate_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=MIN_KEY_BITS)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidSigningKeyError(f"not a PEM private key ({type(exc).__name__})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidSigningKeyError("not an RSA key (RS256 needs RSA)")
    if key.key_size < MIN_KEY_BITS:
        raise InvalidSigningKeyError(
            f"RSA key of {key.key_size} bits; at least {MIN_KEY_BITS} are needed"
        )
    return key
