import pickle

import coincurve
import pytest

from sbtc_gateway.chain.clarity import StringAscii, Tuple, UInt, principal
from sbtc_gateway.chain.errors import SignatureError
from sbtc_gateway.chain.keys import SECP256K1_HALF_ORDER, PrivateKey, recover_public_key, verify_rsv
from sbtc_gateway.chain.signing import recover_terms_signer, sign_terms, terms_hash, verify_terms
from tests.chain.chain_vectors import (
    ADDRESS_MAINNET,
    ADDRESS_TESTNET,
    HASH160,
    INTENT_TERMS_HASH,
    PRIVATE_KEY,
    PUBLIC_KEY,
)

KEY = PrivateKey.from_hex(PRIVATE_KEY)
TERMS = Tuple({"invoice": StringAscii("inv-0001"), "amount": UInt(25000)})


def test_terms_hash_vector() -> None:
    assert terms_hash(TERMS).hex() == INTENT_TERMS_HASH


def test_sign_terms_is_rsv_and_verifies() -> None:
    signature = sign_terms(TERMS, KEY)
    assert len(signature) == 65
    assert signature[64] in (0, 1)
    assert int.from_bytes(signature[32:64], "big") <= SECP256K1_HALF_ORDER
    assert signature == sign_terms(TERMS, KEY)  # RFC 6979: deterministic
    assert verify_terms(TERMS, signature, KEY.public_key)
    assert recover_terms_signer(TERMS, signature) == KEY.public_key
    # Independently: coincurve's own recoverable signature over the hash.
    raw = coincurve.PrivateKey(bytes.fromhex(PRIVATE_KEY)).sign_recoverable(
        bytes.fromhex(INTENT_TERMS_HASH), hasher=None
    )
    assert signature == raw


def test_verify_terms_rejects_other_terms_keys_and_layouts() -> None:
    signature = sign_terms(TERMS, KEY)
    other_terms = Tuple({"invoice": StringAscii("inv-0001"), "amount": UInt(25001)})
    other_key = PrivateKey(bytes.fromhex("33" * 32))
    assert not verify_terms(other_terms, signature, KEY.public_key)
    assert not verify_terms(TERMS, signature, other_key.public_key)
    vrs = signature[64:] + signature[:64]
    assert not verify_terms(TERMS, vrs, KEY.public_key)
    assert not verify_terms(TERMS, signature[:64], KEY.public_key)
    assert not verify_terms(TERMS, signature, b"\x02" + bytes(32))


def test_high_s_signatures_are_refused() -> None:
    signature = sign_terms(TERMS, KEY)
    order = 2 * SECP256K1_HALF_ORDER + 1
    s = int.from_bytes(signature[32:64], "big")
    high = signature[:32] + (order - s).to_bytes(32, "big") + bytes([signature[64] ^ 1])
    with pytest.raises(SignatureError, match="low-S"):
        recover_public_key(terms_hash(TERMS), high)
    assert not verify_rsv(terms_hash(TERMS), high, KEY.public_key)


def test_terms_must_be_a_tuple() -> None:
    with pytest.raises(TypeError):
        terms_hash(UInt(1))  # type: ignore[arg-type]


def test_terms_with_chain_and_contract_bind_the_deployment() -> None:
    terms = Tuple(
        {
            "chain-id": UInt(0x80000000),
            "contract": principal("ST1PQHQKV0RJXZFY1DGX8MNSNYVE3VGZJSRTPGZGM.payment-gateway"),
            "payment-id": StringAscii("pi_123"),
            "amount": UInt(25000),
        }
    )
    assert list(terms.fields) == ["amount", "chain-id", "contract", "payment-id"]
    assert verify_terms(terms, sign_terms(terms, KEY), KEY.public_key)


def test_key_material() -> None:
    assert KEY.public_key.hex() == PUBLIC_KEY
    assert KEY.hash160.hex() == HASH160
    assert KEY.address(26) == ADDRESS_TESTNET
    assert KEY.address(22) == ADDRESS_MAINNET
    # stacks.js form with the trailing compression flag
    assert PrivateKey.from_hex(PRIVATE_KEY + "01") == KEY
    assert PrivateKey.from_hex("0x" + PRIVATE_KEY).to_hex() == PRIVATE_KEY
    for text in (repr(KEY), str(KEY), f"{KEY}", repr([KEY])):
        assert PRIVATE_KEY not in text
        assert "redacted" in text
    with pytest.raises(TypeError):
        pickle.dumps(KEY)
    assert len({KEY, PrivateKey.from_hex(PRIVATE_KEY)}) == 1
    assert PrivateKey.generate() != KEY


@pytest.mark.parametrize(
    "secret", ["", "00" * 32, "ff" * 32, PRIVATE_KEY + "02", "zz", PRIVATE_KEY[:-2]]
)
def test_bad_private_keys(secret: str) -> None:
    with pytest.raises(ValueError, match="private key") as info:
        PrivateKey.from_hex(secret)
    assert PRIVATE_KEY not in str(info.value)


def test_digest_must_be_32_bytes() -> None:
    with pytest.raises(SignatureError):
        KEY.sign_rsv(b"short")
    with pytest.raises(SignatureError):
        recover_public_key(b"short", bytes(65))
    with pytest.raises(SignatureError):
        recover_public_key(bytes(32), bytes(64) + b"\x05")
    with pytest.raises(SignatureError):
        recover_public_key(bytes(32), bytes(65))


def test_the_gateway_terms_vector() -> None:
    """The payment contract's terms tuple, with the token signed too: the bytes, hash and RFC 6979
    signature of contracts/README.md (the contract's tests check the same vector in the VM)."""
    from sbtc_gateway.payments.onchain import terms_tuple
    from tests.chain.chain_vectors import (
        GATEWAY_TERMS,
        GATEWAY_TERMS_HASH,
        GATEWAY_TERMS_KEY,
        GATEWAY_TERMS_SERIALIZED,
        GATEWAY_TERMS_SIGNATURE,
    )

    terms = terms_tuple(**GATEWAY_TERMS)
    assert list(terms.fields)[-1] == "token"
    assert terms.serialize().hex() == GATEWAY_TERMS_SERIALIZED
    assert terms_hash(terms).hex() == GATEWAY_TERMS_HASH
    key = PrivateKey.from_hex(GATEWAY_TERMS_KEY)
    assert sign_terms(terms, key).hex() == GATEWAY_TERMS_SIGNATURE
    raw = coincurve.PrivateKey(bytes.fromhex(GATEWAY_TERMS_KEY))
    assert raw.sign_recoverable(terms_hash(terms), hasher=None).hex() == GATEWAY_TERMS_SIGNATURE
