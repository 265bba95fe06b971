"""Python's serialization equals @stacks/transactions 7.6.0's, through tests/chain/js.

Install the helper with ``npm ci`` in tests/chain/js (``make setup`` does it). Without node or
node_modules these tests skip, except in CI (``CI=true``) where they must run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sbtc_gateway.chain import clarity as cv
from sbtc_gateway.chain.builders import (
    make_contract_call,
    make_contract_deploy,
    make_token_transfer,
    sponsor_transaction,
)
from sbtc_gateway.chain.keys import PrivateKey
from sbtc_gateway.chain.networks import MAINNET, TESTNET, Network
from sbtc_gateway.chain.postconditions import (
    PostCondition,
    PostConditionMode,
    ft_post_condition,
    stx_post_condition,
)
from sbtc_gateway.chain.transactions import ClarityVersion, deserialize_transaction, verify_origin
from tests.chain.chain_node import NodeHelper, require_node
from tests.chain.chain_strategies import ascii_text, clarity_values, contract_names
from tests.chain.chain_vectors import (
    GATEWAY,
    PRIVATE_KEY,
    RECIPIENT,
    SBTC_TESTNET,
    VEC1,
    VEC2,
    VEC3,
)

pytestmark = pytest.mark.node


class StacksJs:
    def __init__(self) -> None:
        self._helper = NodeHelper("crosscheck.mjs")

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        answer = self._helper.ask(request)
        assert "error" not in answer, answer["error"]
        return answer

    def close(self) -> None:
        self._helper.close()


@pytest.fixture(scope="module")
def node() -> Iterator[StacksJs]:
    require_node()
    helper = StacksJs()
    yield helper
    helper.close()


def to_json(value: cv.ClarityValue) -> dict[str, Any]:
    match value:
        case cv.Int(v):
            return {"t": "int", "v": str(v)}
        case cv.UInt(v):
            return {"t": "uint", "v": str(v)}
        case cv.Buffer(data):
            return {"t": "buffer", "v": data.hex()}
        case cv.Bool(v):
            return {"t": "true" if v else "false"}
        case cv.StandardPrincipal():
            return {"t": "std", "v": value.address}
        case cv.ContractPrincipal():
            return {"t": "contract", "v": value.address, "n": value.name}
        case cv.Ok(inner):
            return {"t": "ok", "v": to_json(inner)}
        case cv.Err(inner):
            return {"t": "err", "v": to_json(inner)}
        case cv.NoneValue():
            return {"t": "none"}
        case cv.Some(inner):
            return {"t": "some", "v": to_json(inner)}
        case cv.List(items):
            return {"t": "list", "v": [to_json(i) for i in items]}
        case cv.Tuple():
            return {"t": "tuple", "v": {k: to_json(v) for k, v in value.fields.items()}}
        case cv.StringAscii(text):
            return {"t": "ascii", "v": text}
        case cv.StringUtf8(text):
            return {"t": "utf8", "v": text}
    raise AssertionError(f"unhandled {value!r}")


# stacks.js sorts tuple keys with localeCompare, which agrees with the VM only for lowercase
# letters; the VM is the reference, so generated keys stay in that alphabet here.
LOWER_KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8)
NODE_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # external tools: the same examples on every run, no flaky CI
)
KEY = PrivateKey.from_hex(PRIVATE_KEY)
JS_KEY = PRIVATE_KEY + "01"  # stacks.js's form for a compressed-public-key secret


@NODE_SETTINGS
@given(clarity_values(LOWER_KEYS))
def test_clarity_serialization_matches_stacks_js(node: StacksJs, value: cv.ClarityValue) -> None:
    answer = node.ask({"op": "cv", "value": to_json(value), "hex": value.serialize().hex()})
    assert answer["hex"] == value.serialize().hex()
    assert answer["roundtrip"] == value.serialize().hex()


def test_primer_transactions_parse_and_verify_in_stacks_js(node: StacksJs) -> None:
    for raw in (VEC1, VEC2, VEC3):
        answer = node.ask({"op": "parse", "tx": raw})
        assert answer["hex"] == raw
        assert answer["verified"] is True
        assert answer["txid"] == deserialize_transaction(raw).txid()


_args = st.lists(clarity_values(LOWER_KEYS), max_size=3)
_u64 = st.integers(0, 2**64 - 1)
_amount = st.integers(0, 2**63 - 1)


@NODE_SETTINGS
@given(
    _args,
    _u64,
    _u64,
    st.sampled_from(["allow", "deny"]),
    st.booleans(),
    st.lists(
        st.tuples(
            st.sampled_from(["stx", "ft"]),
            st.sampled_from(["eq", "gt", "gte", "lt", "lte"]),
            _amount,
            st.booleans(),
        ),
        max_size=3,
    ),
    st.sampled_from([TESTNET, MAINNET]),
)
def test_contract_calls_match_stacks_js(
    node: StacksJs,
    args: list[cv.ClarityValue],
    nonce: int,
    fee: int,
    mode: str,
    sponsored: bool,
    conditions: list[tuple[str, str, int, bool]],
    network: Network,
) -> None:
    sender = KEY.address(network.single_sig_version)
    asset = f"{SBTC_TESTNET}::sbtc-token"
    py_pcs: list[PostCondition] = [
        stx_post_condition(who, code, amount)
        if kind == "stx"
        else ft_post_condition(who, code, amount, asset)
        for kind, code, amount, origin in conditions
        for who in ["origin" if origin else sender]
    ]
    js_pcs = [pc.to_json() for pc in py_pcs]
    tx = make_contract_call(
        network,
        KEY,
        GATEWAY,
        "pay",
        args,
        nonce=nonce,
        fee=fee,
        post_conditions=py_pcs,
        post_condition_mode=PostConditionMode.ALLOW if mode == "allow" else PostConditionMode.DENY,
        sponsored=sponsored,
    )
    answer = node.ask(
        {
            "op": "call",
            "network": network.name,
            "contract": GATEWAY,
            "function": "pay",
            "args": [to_json(a) for a in args],
            "nonce": str(nonce),
            "fee": str(fee),
            "mode": mode,
            "sponsored": sponsored,
            "postConditions": js_pcs,
            "key": JS_KEY,
        }
    )
    assert answer["hex"] == tx.serialize().hex()
    assert answer["txid"] == tx.txid()


@NODE_SETTINGS
@given(_amount, _u64, _u64, st.binary(max_size=34).filter(lambda b: b"\x00" not in b))
def test_token_transfers_match_stacks_js(
    node: StacksJs, amount: int, nonce: int, fee: int, memo: bytes
) -> None:
    text = memo.decode("latin-1")
    if len(text.encode("utf-8")) > 34:
        text = text[:17]
    tx = make_token_transfer(
        TESTNET, KEY, RECIPIENT, amount, nonce=nonce, fee=fee, memo=text.encode("utf-8")
    )
    answer = node.ask(
        {
            "op": "transfer",
            "network": "testnet",
            "recipient": RECIPIENT,
            "amount": str(amount),
            "memo": text,
            "nonce": str(nonce),
            "fee": str(fee),
            "key": JS_KEY,
        }
    )
    assert answer["hex"] == tx.serialize().hex()


@NODE_SETTINGS
@given(contract_names, ascii_text, st.sampled_from([2, 3, 4]), _u64)
def test_deploys_match_stacks_js(
    node: StacksJs, name: str, code: str, version: int, nonce: int
) -> None:
    tx = make_contract_deploy(
        TESTNET, KEY, name, code, nonce=nonce, fee=1000, clarity_version=ClarityVersion(version)
    )
    answer = node.ask(
        {
            "op": "deploy",
            "network": "testnet",
            "name": name,
            "code": code,
            "clarityVersion": version,
            "nonce": str(nonce),
            "fee": 1000,
            "key": JS_KEY,
        }
    )
    assert answer["hex"] == tx.serialize().hex()


def test_sponsorship_matches_stacks_js(node: StacksJs) -> None:
    sponsor = PrivateKey(bytes.fromhex("11" * 32))
    origin_signed = make_token_transfer(
        TESTNET, KEY, RECIPIENT, 1000, nonce=4, fee=0, sponsored=True
    )
    ours = sponsor_transaction(origin_signed, sponsor, fee=500, nonce=9)
    answer = node.ask(
        {
            "op": "sponsor",
            "tx": origin_signed.serialize().hex(),
            "key": "11" * 32 + "01",
            "fee": 500,
            "nonce": 9,
        }
    )
    assert answer["hex"] == ours.serialize().hex()
    parsed = node.ask({"op": "parse", "tx": ours.serialize().hex()})
    assert parsed["verified"] is True
    assert verify_origin(deserialize_transaction(answer["hex"])) == KEY.public_key
