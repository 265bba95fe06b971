import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sbtc_gateway.chain import hashing
from sbtc_gateway.chain.hashing import hash160, ripemd160_pure, sha512_256_pure
from tests.chain.chain_vectors import HASH160, PUBLIC_KEY


def _hashlib_has(name: str) -> bool:
    try:
        hashlib.new(name, b"")
    except (ValueError, TypeError):
        return False
    return True


@pytest.mark.parametrize(
    ("data", "digest"),
    [
        (b"", "9c1185a5c5e9fc54612808977ee8f548b2258d31"),
        (b"abc", "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"),
        (b"message digest", "5d0689ef49d2fae572b881b123a85ffa21595f36"),
        (b"a" * 1_000, "aa69deee9a8922e92f8105e007f76110f381e9cf"),
    ],
)
def test_ripemd160_pure_known_answers(data: bytes, digest: str) -> None:
    assert ripemd160_pure(data).hex() == digest


@pytest.mark.parametrize(
    ("data", "digest"),
    [
        (b"", "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a"),
        (b"abc", "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"),
    ],
)
def test_sha512_256_pure_known_answers(data: bytes, digest: str) -> None:
    assert sha512_256_pure(data).hex() == digest


@pytest.mark.skipif(not _hashlib_has("ripemd160"), reason="hashlib has no ripemd160 here")
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # no timing
@given(st.binary(max_size=300))
def test_ripemd160_pure_matches_hashlib(data: bytes) -> None:
    assert ripemd160_pure(data) == hashlib.new("ripemd160", data).digest()


@pytest.mark.skipif(not _hashlib_has("sha512_256"), reason="hashlib has no sha512_256 here")
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # no timing
@given(st.binary(max_size=300))
def test_sha512_256_pure_matches_hashlib(data: bytes) -> None:
    assert sha512_256_pure(data) == hashlib.new("sha512_256", data).digest()


@pytest.mark.parametrize("length", [55, 56, 63, 64, 65, 111, 112, 127, 128, 129])
def test_padding_boundaries_agree(length: int) -> None:
    data = bytes(range(256))[:length]
    assert hashing.sha512_256(data) == sha512_256_pure(data)
    assert hashing.ripemd160(data) == ripemd160_pure(data)


def test_hash160_of_the_primer_public_key() -> None:
    assert hash160(bytes.fromhex(PUBLIC_KEY)).hex() == HASH160


def test_fallback_is_chosen_when_hashlib_lacks_the_algorithm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(name: str, data: bytes = b"") -> object:
        raise ValueError(f"unsupported hash type {name}")

    monkeypatch.setattr(hashing.hashlib, "new", missing)
    assert hashing._hashlib_or("ripemd160", ripemd160_pure) is ripemd160_pure
    assert hashing._hashlib_or("sha512_256", sha512_256_pure) is sha512_256_pure
