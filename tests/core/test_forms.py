from typing import Any

import pytest

from sbtc_gateway.core.errors import ParameterError
from sbtc_gateway.core.forms import parse_form, parse_query


def test_nested_hashes_and_indexed_arrays() -> None:
    body = b"amount=100&metadata[order]=42&metadata[note]=&expand[1]=b&expand[0]=a"
    assert parse_form(body) == {
        "amount": "100",
        "metadata": {"order": "42", "note": ""},
        "expand": ["a", "b"],
    }


def test_append_arrays_and_percent_encoded_keys() -> None:
    assert parse_query("expand%5B%5D=x&expand%5B%5D=y") == {"expand": ["x", "y"]}
    assert parse_query("created%5Bgt%5D=5") == {"created": {"gt": "5"}}


def test_deep_nesting() -> None:
    body = b"payment_method_data[type]=sbtc&payment_method_data[sbtc][payer]=ST1"
    assert parse_form(body) == {"payment_method_data": {"type": "sbtc", "sbtc": {"payer": "ST1"}}}


def test_empty_hash_then_keys() -> None:
    assert parse_form(b"metadata=&metadata[a]=1") == {"metadata": {"a": "1"}}


@pytest.mark.parametrize(
    "body",
    [b"a[b]=1&a=2", b"a=1&a[b]=2", b"a]=1", b"[a]=1", b"a[0]=1&a[x]=2", b"a[b]c=1"],
)
def test_malformed_or_conflicting(body: bytes) -> None:
    with pytest.raises(ParameterError):
        parse_form(body)


def test_too_deep() -> None:
    with pytest.raises(ParameterError):
        parse_form(b"a[b][c][d][e][f]=1")


def test_unicode_digits_are_hash_keys_not_indexes() -> None:
    """'²' and '٣' pass str.isdigit() but not int(): found by schemathesis as a 500."""
    assert parse_query("metadata%5B6%C2%B2%5D=x") == {"metadata": {"6²": "x"}}
    assert parse_query("a%5B%D9%A3%5D=x") == {"a": {"٣": "x"}}


@pytest.mark.parametrize(
    "query",
    ["a=1&&b=2", "a", "a=b=c", "a=%2B+b", "k%5B0%5D=x&k[]=y", "e=%C3%A9", "=v", "a=1&a=2"],
)
def test_pairs_decode_as_parse_qsl_did(query: str) -> None:
    """The strict decoder replaced `parse_qsl`; valid input must read the same as before."""
    from urllib.parse import parse_qsl

    from sbtc_gateway.core.forms import decode_pairs

    assert decode_pairs(query.encode()) == parse_qsl(query, keep_blank_values=True)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"description=%FF", "description"),
        (b"metadata[order]=%C3%28", "metadata[order]"),
        (b"a=1&b=\xe9", "b"),  # raw Latin-1, not percent-encoded
        (b"%FFkey=1", "\ufffdkey"),
    ],
)
def test_bytes_that_are_not_utf8_name_their_parameter(body: bytes, param: str) -> None:
    with pytest.raises(ParameterError) as caught:
        parse_form(body)
    assert (caught.value.param, caught.value.code) == (param, "parameter_invalid_string")


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"description": "a\x00"}, "description"),
        ({"metadata": {"k": "\ud800"}}, "metadata[k]"),
        ({"metadata": {"k\x00": "v"}}, "metadata[k\x00]"),
        ({"expand": ["a", "b\x00"]}, "expand[1]"),
        ({"a\x00": "1"}, "a\x00"),
        ({"p": {"sbtc": {"payer": "\udcff"}}}, "p[sbtc][payer]"),
    ],
)
def test_check_strings_names_the_bracket_path(params: dict[str, Any], param: str) -> None:
    from sbtc_gateway.core.forms import check_strings

    with pytest.raises(ParameterError) as caught:
        check_strings(params)
    assert caught.value.param == param


def test_check_strings_walks_deep_json_without_recursion() -> None:
    from sbtc_gateway.core.forms import check_strings

    deep: dict[str, Any] = {"x": "ok"}
    for _ in range(5000):
        deep = {"a": deep}
    check_strings(deep)
