import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sbtc_gateway.chain.clarity import (
    FALSE,
    NONE,
    TRUE,
    Bool,
    Buffer,
    ClarityValue,
    ContractPrincipal,
    Err,
    Int,
    List,
    Ok,
    Some,
    StandardPrincipal,
    StringAscii,
    StringUtf8,
    Tuple,
    UInt,
    deserialize,
    from_hex,
    principal,
)
from sbtc_gateway.chain.errors import ClarityError
from tests.chain.chain_strategies import values
from tests.chain.chain_vectors import INTENT_TERMS_HASH, RECIPIENT, SBTC_TESTNET

# (value, consensus hex, repr) — the primer's Clarity vectors, byte for byte.
VECTORS: list[tuple[ClarityValue, str, str]] = [
    (Int(-1), "00ffffffffffffffffffffffffffffffff", "-1"),
    (UInt(25000), "01000000000000000000000000000061a8", "u25000"),
    (Buffer(bytes.fromhex("deadbeef")), "0200000004deadbeef", "0xdeadbeef"),
    (TRUE, "03", "true"),
    (FALSE, "04", "false"),
    (principal(RECIPIENT), "051a99e2ec69ac5b6e67b4e26edd0e2c1c1a6b9bbd23", "'" + RECIPIENT),
    (
        principal(SBTC_TESTNET),
        "061a5e7ba8546bc27ca0077594336b3942a8e7f893520a736274632d746f6b656e",
        "'" + SBTC_TESTNET,
    ),
    (Ok(TRUE), "0703", "(ok true)"),
    (Err(UInt(4)), "080100000000000000000000000000000004", "(err u4)"),
    (NONE, "09", "none"),
    (Some(UInt(1)), "0a0100000000000000000000000000000001", "(some u1)"),
    (
        List((UInt(1), UInt(2))),
        "0b0000000201000000000000000000000000000000010100000000000000000000000000000002",
        "(list u1 u2)",
    ),
    (StringAscii("inv-0001"), "0d00000008696e762d30303031", '"inv-0001"'),
    (StringUtf8("é₿"), "0e00000005c3a9e282bf", 'u"é₿"'),
    (
        Tuple({"id": StringAscii("abc"), "amount": UInt(5)}),
        "0c0000000206616d6f756e7401000000000000000000000000000000050269640d00000003616263",
        '(tuple (amount u5) (id "abc"))',
    ),
    (
        Tuple({"a": UInt(1), "B": UInt(2)}),
        "0c000000020142010000000000000000000000000000000201610100000000000000000000000000000001",
        "(tuple (B u2) (a u1))",
    ),
]


@pytest.mark.parametrize(("value", "hex_", "text"), VECTORS, ids=[v[2] for v in VECTORS])
def test_primer_vectors(value: ClarityValue, hex_: str, text: str) -> None:
    assert value.serialize().hex() == hex_
    assert value.to_hex() == "0x" + hex_
    assert deserialize(bytes.fromhex(hex_)) == value
    assert from_hex("0x" + hex_) == value
    assert repr(value) == text
    assert str(value) == text


def test_tuple_keys_follow_the_vm_byte_order() -> None:
    value = Tuple({"ab": UInt(1), "a-b": UInt(2), "a_b": UInt(3), "a1": UInt(4)})
    assert list(value.fields) == ["a-b", "a1", "a_b", "ab"]
    encoded = value.serialize()
    positions = [encoded.index(bytes([len(k)]) + k.encode()) for k in ["a-b", "a1", "a_b", "ab"]]
    assert positions == sorted(positions)


def test_intent_terms_hash() -> None:
    terms = Tuple({"invoice": StringAscii("inv-0001"), "amount": UInt(25000)})
    assert hashlib.sha256(terms.serialize()).hexdigest() == INTENT_TERMS_HASH


def test_tuple_accepts_pairs_and_reads_fields() -> None:
    a = Tuple([("b", UInt(1)), ("a", TRUE)])
    assert a == Tuple({"a": TRUE, "b": UInt(1)})
    assert hash(a) == hash(Tuple({"a": TRUE, "b": UInt(1)}))
    assert a["b"] == UInt(1)
    with pytest.raises(AttributeError):
        a.x = 1  # type: ignore[attr-defined]


def test_unsorted_tuple_on_the_wire_is_accepted_like_the_vm_does() -> None:
    # {a: u1, B: u2} with keys in the non-VM order "a", "B" (what a localeCompare sort emits)
    unsorted = (
        bytes.fromhex("0c00000002")
        + b"\x01a"
        + UInt(1).serialize()
        + b"\x01B"
        + UInt(2).serialize()
    )
    value = deserialize(unsorted)
    assert value == Tuple({"a": UInt(1), "B": UInt(2)})
    assert value.serialize().hex().startswith("0c000000020142")


def test_principal_helpers() -> None:
    std = principal("'" + RECIPIENT)
    assert isinstance(std, StandardPrincipal)
    assert std.address == RECIPIENT
    contract = principal(SBTC_TESTNET)
    assert isinstance(contract, ContractPrincipal)
    assert contract.contract_id == SBTC_TESTNET
    assert contract.address == SBTC_TESTNET.split(".")[0]
    with pytest.raises(ClarityError):
        principal("ST123")
    with pytest.raises(ClarityError):
        ContractPrincipal.from_id(RECIPIENT)
    with pytest.raises(ClarityError):
        principal(RECIPIENT + ".9bad")


def test_equality_is_by_type_and_value() -> None:
    assert UInt(1) != Int(1)
    assert Bool(True) == TRUE
    assert StringAscii("a") != StringUtf8("a")
    assert Some(NONE) != NONE
    assert len({UInt(1), UInt(1), Int(1)}) == 2
    assert list(List((UInt(1),))) == [UInt(1)]
    assert len(List(())) == 0


def test_string_reprs_escape_like_the_vm() -> None:
    assert repr(StringAscii("a\"b\\c\n'")) == '"a\\"b\\\\c\\n\\\'"'
    assert repr(StringUtf8('x"é')) == 'u"x\\"é"'
    assert repr(List(())) == "(list )"
    assert repr(Buffer(b"")) == "0x"


@pytest.mark.parametrize(
    "make",
    [
        lambda: Int(1 << 127),
        lambda: Int(-(1 << 127) - 1),
        lambda: UInt(-1),
        lambda: UInt(1 << 128),
        lambda: UInt(True),
        lambda: UInt(1.0),
        lambda: Bool(1),
        lambda: StringAscii("é"),
        lambda: StringAscii("\x00"),
        lambda: StringAscii("\x0b"),
        lambda: StringUtf8("\ud800"),
        lambda: Tuple({}),
        lambda: Tuple({"9a": UInt(1)}),
        lambda: Tuple({"a b": UInt(1)}),
        lambda: Tuple([("a", UInt(1)), ("a", UInt(2))]),
        lambda: Tuple({"a": 1}),
        lambda: Some(1),
        lambda: List([1]),
        lambda: StandardPrincipal(32, bytes(20)),
        lambda: StandardPrincipal(22, bytes(19)),
        lambda: ContractPrincipal(22, bytes(20), "bad name"),
        lambda: Buffer("text"),
    ],
)
def test_invalid_values_are_refused(make: object) -> None:
    with pytest.raises(ClarityError):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("hex_", "message"),
    [
        ("", "unexpected end"),
        ("0f", "unknown Clarity type"),
        ("0100", "unexpected end"),
        ("0303", "trailing"),
        ("02ffffffff00", "exceeds"),
        ("0b0000000301", "exceeds|unexpected end"),
        ("0c00000000", "at least one field"),
        ("0c000000010161030161", "trailing"),
        ("0c00000002016103016104", "duplicate"),
        ("0c0000000101200103", "invalid tuple key"),
        ("0d0000000100", "not allow"),
        ("0d00000001c3", "not allow"),
        ("0e00000001ff", "not valid UTF-8"),
        ("061a" + "00" * 20 + "0139", "invalid contract name"),
        ("0a" * 40 + "09", "nested deeper"),
        ("zz", "not a hex string"),
    ],
)
def test_malformed_bytes_are_rejected(hex_: str, message: str) -> None:
    with pytest.raises(ClarityError, match=message):
        deserialize(hex_)


def test_depth_limit_allows_32_levels() -> None:
    deep: ClarityValue = NONE
    for _ in range(32):
        deep = Some(deep)
    assert deserialize(deep.serialize()) == deep


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # no timing
@given(values)
def test_round_trip(value: ClarityValue) -> None:
    encoded = value.serialize()
    assert deserialize(encoded) == value
    assert deserialize(encoded).serialize() == encoded
    assert from_hex(value.to_hex()) == value
    assert isinstance(repr(value), str)


def test_int_subclasses_are_accepted_as_plain_ints() -> None:
    from sbtc_gateway.chain.networks import ChainId

    value = UInt(ChainId.TESTNET)
    assert type(value.value) is int
    assert value == UInt(0x80000000)
    assert repr(value) == "u2147483648"


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # no timing
@given(st.binary(max_size=200))
def test_deserializing_arbitrary_bytes_only_raises_clarity_error(data: bytes) -> None:
    try:
        value = deserialize(data)
    except ClarityError:
        return
    assert isinstance(value, ClarityValue)
