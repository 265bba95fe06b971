"""Signing the gateway's payment-intent terms for ``secp256k1-verify`` in Clarity.

The contract computes ``(sha256 (unwrap-panic (to-consensus-buff? terms)))`` and checks the
signature with ``secp256k1-verify``, which takes R‖S‖V (recovery id last) — the reverse of the
transaction layout. Include the chain id and the contract principal in the terms so a signature
cannot be replayed on another network or deployment.
"""

from __future__ import annotations

from .clarity import Tuple
from .hashing import sha256
from .keys import PrivateKey, recover_public_key, verify_rsv


def terms_hash(terms: Tuple) -> bytes:
    """``sha256(to-consensus-buff? terms)``: the 32-byte message the contract verifies."""
    if not isinstance(terms, Tuple):
        raise TypeError("payment terms must be a Clarity Tuple")
    return sha256(terms.serialize())


def sign_terms(terms: Tuple, key: PrivateKey) -> bytes:
    """Sign a terms tuple; returns 65 bytes R‖S‖V (low-S, deterministic)."""
    return key.sign_rsv(terms_hash(terms))


def verify_terms(terms: Tuple, signature: bytes, public_key: bytes) -> bool:
    """True if ``signature`` (R‖S‖V) signs ``terms`` with ``public_key`` (compressed, 33 bytes)."""
    return verify_rsv(terms_hash(terms), signature, public_key)


def recover_terms_signer(terms: Tuple, signature: bytes) -> bytes:
    """The compressed public key that signed ``terms`` (raises SignatureError if none)."""
    return recover_public_key(terms_hash(terms), signature)
