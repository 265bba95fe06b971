"""The Clarity VM is the reference: Python's serialization equals `to-consensus-buff?`.

Through tests/chain/js/vmcheck.mjs (a Clarinet SDK simnet), for generated well-typed values with
any valid tuple keys (mixed case, punctuation — where stacks.js disagrees with the VM), and the
terms signature that ``sign_terms`` makes is accepted by ``secp256k1-verify`` and recovered by
``secp256k1-recover?``. Needs node and ``npm ci`` in tests/chain/js (skipped outside CI if not).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sbtc_gateway.chain import clarity as cv
from sbtc_gateway.chain.keys import PrivateKey
from sbtc_gateway.chain.signing import sign_terms, terms_hash
from tests.chain.chain_node import NodeHelper, require_node
from tests.chain.chain_strategies import contract_names, hash160s, versions
from tests.chain.chain_vectors import INTENT_TERMS_HASH

pytestmark = pytest.mark.node


class Vm:
    def __init__(self) -> None:
        self._helper = NodeHelper("vmcheck.mjs")

    def run(self, expr: str) -> dict[str, Any]:
        answer = self._helper.ask({"expr": expr})
        assert "error" not in answer, f"{expr}: {answer['error']}"
        return answer

    def consensus_hex(self, value: cv.ClarityValue) -> str:
        answer = self.run(f"(to-consensus-buff? {to_source(value)})")
        assert answer["type"] == "some", answer
        hex_: str = answer["hex"]
        return hex_

    def close(self) -> None:
        self._helper.close()


@pytest.fixture(scope="module")
def vm() -> Iterator[Vm]:
    require_node()
    helper = Vm()
    yield helper
    helper.close()


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def to_source(value: cv.ClarityValue) -> str:
    """The value as Clarity source code (a literal expression)."""
    match value:
        case cv.Int(v):
            return str(v)
        case cv.UInt(v):
            return f"u{v}"
        case cv.Buffer(data):
            return "0x" + data.hex()
        case cv.Bool(v):
            return "true" if v else "false"
        case cv.StandardPrincipal() | cv.ContractPrincipal():
            return repr(value)
        case cv.Ok(inner):
            return f"(ok {to_source(inner)})"
        case cv.Err(inner):
            return f"(err {to_source(inner)})"
        case cv.NoneValue():
            return "none"
        case cv.Some(inner):
            return f"(some {to_source(inner)})"
        case cv.List(items):
            return "(list " + " ".join(to_source(i) for i in items) + ")"
        case cv.Tuple():
            fields = " ".join(f"({k} {to_source(v)})" for k, v in value.fields.items())
            return f"(tuple {fields})"
        case cv.StringAscii(text):
            return '"' + "".join(_ESCAPES.get(c, c) for c in text) + '"'
        case cv.StringUtf8(text):
            body = "".join(
                _ESCAPES.get(c, c) if ord(c) < 0x80 else f"\\u{{{ord(c):x}}}" for c in text
            )
            return 'u"' + body + '"'
    raise AssertionError(f"unhandled {value!r}")


# --- well-typed values: a type first, then values of that type ----------------------------------

Type = tuple[Any, ...]
SIMPLE = ["int", "uint", "bool", "buff", "principal", "ascii", "utf8"]
# Clarity names that can be tuple keys in source: not the lone operators (`+`, `<=`, …), which
# are valid names on the wire, not reserved words, and not names that lex as literals.
RESERVED = {"list", "tuple", "ok", "err", "some", "none", "true", "false", "let", "begin"}
keys = st.from_regex(r"[a-zA-Z][a-zA-Z0-9!?+<>=/*_-]{0,12}", fullmatch=True).filter(
    lambda k: k not in RESERVED and not re.match(r"u[0-9]", k)  # u0… lexes as a uint literal
)
types: st.SearchStrategy[Type] = st.recursive(
    st.sampled_from(SIMPLE).map(lambda k: (k,)),
    lambda inner: st.one_of(
        inner.map(lambda t: ("optional", t)),
        st.tuples(inner, inner).map(lambda p: ("response", p[0], p[1])),
        inner.map(lambda t: ("list", t)),
        st.dictionaries(keys, inner, min_size=1, max_size=4).map(
            lambda d: ("tuple", tuple(d.items()))
        ),
    ),
    max_leaves=6,
)
ascii_chars = string.ascii_letters + string.digits + string.punctuation + " \n\t\r"


def values_of(t: Type, in_list: bool = False) -> st.SearchStrategy[cv.ClarityValue]:
    # In source, a list of contract-principal literals with different addresses has no common
    # type for the VM's checker (they type as callables); inside lists we use standard ones.
    kind = t[0]
    if kind == "int":
        return st.builds(cv.Int, st.integers(cv.INT_MIN, cv.INT_MAX))
    if kind == "uint":
        return st.builds(cv.UInt, st.integers(0, cv.UINT_MAX))
    if kind == "bool":
        return st.builds(cv.Bool, st.booleans())
    if kind == "buff":
        return st.builds(cv.Buffer, st.binary(max_size=24))
    if kind == "principal" and in_list:
        return st.builds(cv.StandardPrincipal, versions, hash160s)
    if kind == "principal":
        return st.one_of(
            st.builds(cv.StandardPrincipal, versions, hash160s),
            st.builds(cv.ContractPrincipal, versions, hash160s, contract_names),
        )
    if kind == "ascii":
        return st.builds(cv.StringAscii, st.text(alphabet=ascii_chars, max_size=16))
    if kind == "utf8":
        return st.builds(
            cv.StringUtf8,
            st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=8),
        )
    if kind == "optional":
        return st.one_of(st.just(cv.NONE), st.builds(cv.Some, values_of(t[1], in_list)))
    if kind == "response":
        return st.one_of(
            st.builds(cv.Ok, values_of(t[1], in_list)), st.builds(cv.Err, values_of(t[2], in_list))
        )
    if kind == "list":
        return st.lists(values_of(t[1], True), min_size=1, max_size=3).map(
            lambda xs: cv.List(tuple(xs))
        )
    assert kind == "tuple"
    return st.fixed_dictionaries({k: values_of(sub, in_list) for k, sub in t[1]}).map(cv.Tuple)


well_typed = types.flatmap(values_of)
VM_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # external tools: the same examples on every run, no flaky CI
)


@VM_SETTINGS
@given(well_typed)
def test_serialization_equals_the_vm(vm: Vm, value: cv.ClarityValue) -> None:
    assert vm.consensus_hex(value) == value.serialize().hex()


def test_primer_tuple_orders_in_the_vm(vm: Vm) -> None:
    mixed = cv.Tuple({"a": cv.UInt(1), "B": cv.UInt(2)})
    assert vm.consensus_hex(mixed) == (
        "0c000000020142010000000000000000000000000000000201610100000000000000000000000000000001"
    )
    punctuated = cv.Tuple({k: cv.UInt(1) for k in ["ab", "a-b", "a_b", "a1"]})
    assert vm.consensus_hex(punctuated) == punctuated.serialize().hex()
    assert list(punctuated.fields) == ["a-b", "a1", "a_b", "ab"]


def test_intent_terms_hash_in_the_vm(vm: Vm) -> None:
    terms = cv.Tuple({"invoice": cv.StringAscii("inv-0001"), "amount": cv.UInt(25000)})
    answer = vm.run(f"(sha256 (unwrap-panic (to-consensus-buff? {to_source(terms)})))")
    assert answer["hex"] == INTENT_TERMS_HASH == terms_hash(terms).hex()


_terms = st.dictionaries(keys, types.flatmap(values_of), min_size=1, max_size=5).map(cv.Tuple)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # external tools: the same examples on every run, no flaky CI
)
@given(_terms, st.integers(1, 2**255))
def test_secp256k1_verify_accepts_sign_terms(vm: Vm, terms: cv.Tuple, secret: int) -> None:
    key = PrivateKey(secret.to_bytes(32, "big"))
    signature = sign_terms(terms, key)
    digest = f"(sha256 (unwrap-panic (to-consensus-buff? {to_source(terms)})))"
    verified = vm.run(f"(secp256k1-verify {digest} 0x{signature.hex()} 0x{key.public_key.hex()})")
    assert verified["type"] == "true"
    recovered = vm.run(f"(secp256k1-recover? {digest} 0x{signature.hex()})")
    assert recovered == {"type": "ok", "hex": key.public_key.hex()}
    # The transaction layout (V first) is not what Clarity takes.
    vrs = signature[64:] + signature[:64]
    refused = vm.run(f"(secp256k1-verify {digest} 0x{vrs.hex()} 0x{key.public_key.hex()})")
    assert refused["type"] == "false"


def test_the_gateway_terms_vector_in_the_vm(vm: Vm) -> None:
    """The payment contract's terms, as the gateway builds them (payments/onchain.py), are the
    VM's bytes: the same vector as contracts/README.md and the contract's own tests."""
    from sbtc_gateway.payments.onchain import terms_tuple
    from tests.chain.chain_vectors import (
        GATEWAY_TERMS,
        GATEWAY_TERMS_HASH,
        GATEWAY_TERMS_KEY,
        GATEWAY_TERMS_SERIALIZED,
        GATEWAY_TERMS_SIGNATURE,
    )

    terms = terms_tuple(**GATEWAY_TERMS)
    assert terms.serialize().hex() == GATEWAY_TERMS_SERIALIZED
    assert vm.consensus_hex(terms) == GATEWAY_TERMS_SERIALIZED
    assert terms_hash(terms).hex() == GATEWAY_TERMS_HASH
    signature = sign_terms(terms, PrivateKey.from_hex(GATEWAY_TERMS_KEY))
    assert signature.hex() == GATEWAY_TERMS_SIGNATURE
