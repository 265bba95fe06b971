"""The keyring for data at rest: AES-256-GCM under a key id, so the encryption key can rotate.

`SBTC_ENCRYPTION_KEYS` (formerly `SBTC_WEBHOOK_ENCRYPTION_KEYS`) is `kid:base64key,kid2:…`; the
first key encrypts, every key decrypts (ciphertexts name their key id). Every ciphertext has
associated data naming the row it belongs to (a webhook secret: its endpoint id), so a ciphertext
copied onto another row does not decrypt.

Two encodings of the same construction (a fresh 96-bit nonce per message):
- text columns: `kid:base64(nonce | ciphertext+tag)` (`encrypt` / `decrypt`);
- binary columns: `0x01 | len(kid) | kid | nonce | ciphertext+tag` (`seal` / `unseal`). The
  leading format byte makes a value self-describing: it can never start a JSON document, so a
  column that held plain JSON before can tell old rows from sealed ones without a migration.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
SEALED_V1 = 0x01  # first byte of `seal`'s output: AES-256-GCM under the key id that follows


class KeyringError(ValueError):
    """The configured keys are malformed, or a ciphertext cannot be decrypted."""


class Keyring:
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise KeyringError("no encryption key configured")
        self.active_kid = keys[0][0]
        self._ciphers = {kid: AESGCM(key) for kid, key in keys}

    def encrypt(self, plaintext: str, aad: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.active_kid].encrypt(nonce, plaintext.encode(), aad.encode())
        return f"{self.active_kid}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, aad: str) -> str:
        kid, _, blob = stored.partition(":")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise KeyringError(f"unknown encryption key id {kid!r}")
        try:
            raw = base64.b64decode(blob, validate=True)
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], aad.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise KeyringError("the ciphertext does not decrypt") from exc

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        kid = self.active_kid.encode()
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.active_kid].encrypt(nonce, plaintext, aad)
        return bytes((SEALED_V1, len(kid))) + kid + nonce + sealed

    def unseal(self, blob: bytes, aad: bytes) -> bytes:
        if not is_sealed(blob) or len(blob) < 2:
            raise KeyringError("not a sealed value")
        start = 2 + blob[1]
        kid = blob[2:start].decode(errors="replace")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise KeyringError(f"unknown encryption key id {kid!r}")
        nonce = blob[start : start + NONCE_BYTES]
        try:
            return cipher.decrypt(nonce, blob[start + NONCE_BYTES :], aad)
        except (InvalidTag, ValueError) as exc:
            raise KeyringError("the ciphertext does not decrypt") from exc


def is_sealed(blob: bytes) -> bool:
    """Written by `seal` (as opposed to a plain value stored before encryption)."""
    return blob[:1] == bytes((SEALED_V1,))


def parse_keys(value: str) -> list[tuple[str, bytes]]:
    keys: list[tuple[str, bytes]] = []
    for entry in value.split(","):
        kid, sep, encoded = entry.strip().partition(":")
        if not sep or not kid or not kid.isascii() or not kid.isalnum() or len(kid) > 64:
            raise KeyringError(
                "encryption keys must look like 'kid:base64key,…' (kid: up to 64 letters or digits)"
            )
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise KeyringError(f"encryption key {kid!r} is not base64") from None
        if len(key) != 32:
            raise KeyringError(f"encryption key {kid!r} must be 32 bytes (AES-256)")
        if any(k == kid for k, _ in keys):
            raise KeyringError(f"encryption key id {kid!r} appears twice")
        keys.append((kid, key))
    return keys


@functools.lru_cache(maxsize=8)
def keyring(value: str) -> Keyring:
    return Keyring(parse_keys(value))


def generate_key_entry(kid: str = "dev1") -> str:
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"
