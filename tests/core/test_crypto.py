"""The keyring for data at rest (`core/crypto.py`): its binary form (`seal` / `unseal`, used for
stored idempotent responses) and its text form (`encrypt` / `decrypt`, webhook secrets)."""

from __future__ import annotations

import pytest

from sbtc_gateway.core.crypto import (
    Keyring,
    KeyringError,
    generate_key_entry,
    is_sealed,
    parse_keys,
)

A, B = generate_key_entry("a"), generate_key_entry("bb")


def test_sealed_values_name_their_key_and_open_only_with_their_associated_data() -> None:
    ring = Keyring(parse_keys(f"{A},{B}"))
    sealed = ring.seal(b'{"secret": "sk_test_x"}', b"row-1")
    assert sealed[:3] == b"\x01\x01a"  # format 1, a 1-byte key id, "a"
    assert b"sk_test_x" not in sealed
    assert is_sealed(sealed)
    assert ring.unseal(sealed, b"row-1") == b'{"secret": "sk_test_x"}'
    assert ring.seal(b"same", b"row-1") != ring.seal(b"same", b"row-1")  # a nonce each time
    with pytest.raises(KeyringError):
        ring.unseal(sealed, b"row-2")  # copied onto another row
    for n in (4, len(sealed) - 1):
        tampered = bytearray(sealed)
        tampered[n] ^= 1
        with pytest.raises(KeyringError):
            ring.unseal(bytes(tampered), b"row-1")
    for bad in (b"", b"\x01", b"\x01\x05ab", b'{"plain": "json"}'):
        with pytest.raises(KeyringError):
            ring.unseal(bad, b"row-1")


def test_rotation_new_key_first_old_values_still_open() -> None:
    old = Keyring(parse_keys(A))
    sealed = old.seal(b"answer", b"row")
    rotated = Keyring(parse_keys(f"{B},{A}"))
    assert rotated.unseal(sealed, b"row") == b"answer"
    assert rotated.seal(b"answer", b"row")[:4] == b"\x01\x02bb"
    with pytest.raises(KeyringError, match="unknown encryption key id 'a'"):
        Keyring(parse_keys(B)).unseal(sealed, b"row")


def test_plain_json_is_never_taken_for_a_sealed_value() -> None:
    for plain in (b"{}", b'{"id": "pi_1"}', b"[]", b" {}", b""):
        assert not is_sealed(plain)


def test_key_ids_are_short_ascii_names() -> None:
    key = A.partition(":")[2]
    for kid in ("k" * 65, "ключ", "a-b"):
        with pytest.raises(KeyringError):
            parse_keys(f"{kid}:{key}")
    assert parse_keys(f"{'k' * 64}:{key}")[0][0] == "k" * 64


def test_keyring_binds_ciphertext_to_row_and_key_id() -> None:
    ring = Keyring(parse_keys(generate_key_entry("a") + "," + generate_key_entry("b")))
    sealed = ring.encrypt("whsec_abc", "we_1")
    assert sealed.startswith("a:")
    assert ring.decrypt(sealed, "we_1") == "whsec_abc"
    with pytest.raises(KeyringError):
        ring.decrypt(sealed, "we_2")  # copied onto another endpoint
    with pytest.raises(KeyringError):
        ring.decrypt("zz:" + sealed[2:], "we_1")
    tampered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(KeyringError):
        ring.decrypt(tampered, "we_1")
    for bad in ("nokid", "k:notbase64!", "k:c2hvcnQ=", "a:" + "A" * 44 + ",a:" + "A" * 44):
        with pytest.raises(KeyringError):
            parse_keys(bad)
