"""c32check addresses (Stacks' base32 variant with a double-SHA256 checksum).

Decoding is strict: input that would re-encode differently (lower case, wrong length, bad
checksum, unknown version) is rejected rather than normalised, so an address stored by the
gateway is always the canonical spelling of one (version, hash160) pair.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache

from .errors import ChainError

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


class AddressVersion(IntEnum):
    MAINNET_SINGLE_SIG = 22  # SP
    MAINNET_MULTI_SIG = 20  # SM
    TESTNET_SINGLE_SIG = 26  # ST
    TESTNET_MULTI_SIG = 21  # SN


MAINNET_VERSIONS = frozenset({AddressVersion.MAINNET_SINGLE_SIG, AddressVersion.MAINNET_MULTI_SIG})
TESTNET_VERSIONS = frozenset({AddressVersion.TESTNET_SINGLE_SIG, AddressVersion.TESTNET_MULTI_SIG})


class InvalidAddressError(ChainError, ValueError):
    """The text is not a canonical c32check Stacks address."""


@dataclass(frozen=True, slots=True)
class StacksAddress:
    version: int
    hash160: bytes

    @property
    def is_mainnet(self) -> bool:
        return self.version in MAINNET_VERSIONS

    def __str__(self) -> str:
        return c32_address(self.version, self.hash160)


def _checksum(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()[:4]


def c32_encode(data: bytes) -> str:
    """Encode bytes in c32, keeping one '0' per leading zero byte."""
    leading = len(data) - len(data.lstrip(b"\x00"))
    number = int.from_bytes(data, "big")
    if not number:
        return "0" * leading
    bits = bin(number)[2:]
    bits = "0" * (-len(bits) % 5) + bits
    digits = "".join(ALPHABET[int(bits[i : i + 5], 2)] for i in range(0, len(bits), 5))
    return "0" * leading + digits


def c32_decode(text: str) -> bytes:
    leading = len(text) - len(text.lstrip("0"))
    number = 0
    for ch in text:
        try:
            number = number * 32 + _INDEX[ch]
        except KeyError:
            raise InvalidAddressError(f"character {ch!r} is not in the c32 alphabet") from None
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * leading + body


def c32check_encode(version: int, data: bytes) -> str:
    """c32check: the version character, then c32(data ‖ checksum(version ‖ data))."""
    if not 0 <= version < 32:
        raise InvalidAddressError(f"version {version} does not fit one c32 character")
    return ALPHABET[version] + c32_encode(data + _checksum(bytes([version]) + data))


def c32check_decode(text: str) -> tuple[int, bytes]:
    """Inverse of :func:`c32check_encode`; rejects bad checksums and non-canonical text."""
    if not isinstance(text, str) or len(text) < 2 or text[0] not in _INDEX:
        raise InvalidAddressError("c32check text needs a version character and data")
    version = _INDEX[text[0]]
    raw = c32_decode(text[1:])
    if len(raw) < 4:
        raise InvalidAddressError("c32check text is too short for its checksum")
    data, checksum = raw[:-4], raw[-4:]
    if _checksum(bytes([version]) + data) != checksum:
        raise InvalidAddressError("c32check checksum does not match")
    if c32check_encode(version, data) != text:
        raise InvalidAddressError("c32check text is not in canonical form")
    return version, data


@lru_cache(maxsize=4096)
def c32_address(version: int, hash160: bytes) -> str:
    if not 0 <= version < 32:
        raise InvalidAddressError(f"version {version} does not fit one c32 character")
    if len(hash160) != 20:
        raise InvalidAddressError("hash160 must be 20 bytes")
    return "S" + ALPHABET[version] + c32_encode(hash160 + _checksum(bytes([version]) + hash160))


@lru_cache(maxsize=4096)  # pure and immutable: the gateway parses the same few addresses a lot
def c32_address_decode(address: str) -> StacksAddress:
    """Parse a standard principal; raises InvalidAddressError unless it is canonical."""
    if not isinstance(address, str) or len(address) < 5 or address[0] != "S":
        raise InvalidAddressError("a Stacks address starts with 'S'")
    version_char = address[1]
    if version_char not in _INDEX:
        raise InvalidAddressError(f"character {version_char!r} is not in the c32 alphabet")
    version = _INDEX[version_char]
    if version not in AddressVersion._value2member_map_:
        raise InvalidAddressError(f"unknown address version {version}")
    raw = c32_decode(address[2:])
    if len(raw) != 24:
        raise InvalidAddressError("address has the wrong length")
    hash160, checksum = raw[:20], raw[20:]
    if _checksum(bytes([version]) + hash160) != checksum:
        raise InvalidAddressError("address checksum does not match")
    if c32_address(version, hash160) != address:
        raise InvalidAddressError("address is not in canonical form")
    return StacksAddress(version, hash160)


def validate_principal(principal: str, *, mainnet: bool) -> str:
    """Validate a standard or contract principal for a network; returns it unchanged."""
    if not isinstance(principal, str):
        raise InvalidAddressError("a principal is a string")
    address, dot, name = principal.partition(".")
    parsed = c32_address_decode(address)
    if parsed.is_mainnet != mainnet:
        network = "mainnet" if mainnet else "testnet"
        raise InvalidAddressError(f"address is not a {network} address")
    if dot and not _valid_contract_name(name):
        raise InvalidAddressError("contract name is not valid")
    return principal


def _valid_contract_name(name: str) -> bool:
    if not 1 <= len(name) <= 128 or not name[0].isascii() or not name[0].isalpha():
        return False
    return all(c.isascii() and (c.isalnum() or c in "-_") for c in name)
