import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sbtc_gateway.chain.c32 import (
    InvalidAddressError,
    StacksAddress,
    c32_address,
    c32_address_decode,
    c32_decode,
    c32_encode,
    c32check_decode,
    c32check_encode,
    validate_principal,
)
from sbtc_gateway.chain.errors import ChainError
from tests.chain.chain_vectors import ADDRESS_MAINNET, ADDRESS_TESTNET, ADDRESS_VECTORS, HASH160

VERSIONS = [20, 21, 22, 26]


@pytest.mark.parametrize(("version", "hash160", "address"), ADDRESS_VECTORS)
def test_primer_address_vectors(version: int, hash160: str, address: str) -> None:
    assert c32_address(version, bytes.fromhex(hash160)) == address
    assert c32_address_decode(address) == StacksAddress(version, bytes.fromhex(hash160))
    assert str(c32_address_decode(address)) == address


def test_key_addresses() -> None:
    assert c32_address(26, bytes.fromhex(HASH160)) == ADDRESS_TESTNET
    assert c32_address(22, bytes.fromhex(HASH160)) == ADDRESS_MAINNET
    assert c32_address_decode(ADDRESS_MAINNET).is_mainnet
    assert not c32_address_decode(ADDRESS_TESTNET).is_mainnet


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # no timing
@given(st.sampled_from(VERSIONS), st.binary(min_size=20, max_size=20))
def test_address_round_trip(version: int, hash160: bytes) -> None:
    address = c32_address(version, hash160)
    assert c32_address_decode(address) == StacksAddress(version, hash160)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # no timing
@given(st.binary(max_size=40))
def test_c32_bytes_round_trip(data: bytes) -> None:
    assert c32_decode(c32_encode(data)) == data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ADDRESS_TESTNET.lower(), "starts with 'S'"),
        ("s" + ADDRESS_TESTNET[1:], "starts with 'S'"),
        ("ST" + ADDRESS_TESTNET[2:].lower(), "not in the c32 alphabet"),
        (ADDRESS_TESTNET[:-1] + "G", "checksum"),
        (ADDRESS_TESTNET[:-1], "wrong length|checksum"),
        (ADDRESS_TESTNET + "0", "wrong length"),
        ("SA" + ADDRESS_TESTNET[2:], "unknown address version"),
        ("SU" + ADDRESS_TESTNET[2:], "not in the c32 alphabet"),
        ("ST2ZD731ANQZT6J4K3F5N8A40ZXWXC1XFXH4HF6PO", "not in the c32 alphabet"),
        ("ST", "starts with 'S'"),
        ("", "starts with 'S'"),
    ],
)
def test_rejects_bad_addresses(text: str, message: str) -> None:
    with pytest.raises(InvalidAddressError, match=message):
        c32_address_decode(text)


def test_rejects_non_canonical_leading_zero() -> None:
    # An extra leading '0' decodes to an extra zero byte: wrong length, never normalised away.
    with pytest.raises(InvalidAddressError):
        c32_address_decode("SP0" + "000000000000000000002Q6VF78")


def test_invalid_address_error_is_a_value_error_and_a_chain_error() -> None:
    assert issubclass(InvalidAddressError, ValueError)
    assert issubclass(InvalidAddressError, ChainError)


def test_encode_rejects_bad_parts() -> None:
    with pytest.raises(InvalidAddressError):
        c32_address(32, bytes(20))
    with pytest.raises(InvalidAddressError):
        c32_address(22, bytes(19))


@pytest.mark.parametrize(
    ("principal", "mainnet"),
    [
        (ADDRESS_MAINNET, True),
        (ADDRESS_TESTNET, False),
        ("SM3VDXK3WZZSA84XXFKAFAF15NNZX32CTSG82JFQ4.sbtc-token", True),
        ("ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.payment-gateway", False),
        ("ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.a_b-C9", False),
    ],
)
def test_validate_principal_accepts(principal: str, mainnet: bool) -> None:
    assert validate_principal(principal, mainnet=mainnet) == principal


@pytest.mark.parametrize(
    ("principal", "mainnet", "message"),
    [
        (ADDRESS_MAINNET, False, "not a testnet address"),
        (ADDRESS_TESTNET, True, "not a mainnet address"),
        (ADDRESS_TESTNET + ".", False, "contract name"),
        (ADDRESS_TESTNET + ".9abc", False, "contract name"),
        (ADDRESS_TESTNET + ".a b", False, "contract name"),
        (ADDRESS_TESTNET + ".é", False, "contract name"),
        (ADDRESS_TESTNET + "." + "a" * 129, False, "contract name"),
        (ADDRESS_TESTNET + ".a.b", False, "contract name"),
        ("not-an-address", False, "starts with 'S'"),
    ],
)
def test_validate_principal_rejects(principal: str, mainnet: bool, message: str) -> None:
    with pytest.raises(InvalidAddressError, match=message):
        validate_principal(principal, mainnet=mainnet)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # no timing
@given(st.integers(0, 31), st.binary(max_size=40))
def test_c32check_round_trip(version: int, data: bytes) -> None:
    text = c32check_encode(version, data)
    assert c32check_decode(text) == (version, data)


def test_c32check_matches_addresses_and_rejects_tampering() -> None:
    text = c32check_encode(26, bytes.fromhex(HASH160))
    assert "S" + text == ADDRESS_TESTNET
    with pytest.raises(InvalidAddressError, match="checksum"):
        c32check_decode(text[:-1] + ("0" if text[-1] != "0" else "1"))
    with pytest.raises(InvalidAddressError, match="too short"):
        c32check_decode("T1")
    with pytest.raises(InvalidAddressError, match="version character"):
        c32check_decode("")


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # no timing
@given(st.text(max_size=60))
def test_decoding_arbitrary_text_only_raises_invalid_address(text: str) -> None:
    try:
        decoded = c32_address_decode(text)
    except InvalidAddressError:
        return
    assert str(decoded) == text


def test_validate_principal_rejects_non_strings() -> None:
    with pytest.raises(InvalidAddressError):
        validate_principal(None, mainnet=False)  # type: ignore[arg-type]
