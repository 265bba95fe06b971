import pytest

from sbtc_gateway.core.errors import ParameterError
from sbtc_gateway.payments.search import parse


def test_and_clauses() -> None:
    clauses, joiner = parse("status:'succeeded' AND metadata['order_id']:'6735'")
    assert joiner == "AND"
    assert [(c.field, c.op, c.value, c.metadata_key) for c in clauses] == [
        ("status", ":", "succeeded", None),
        ("metadata", ":", "6735", "order_id"),
    ]


def test_numbers_negation_or() -> None:
    clauses, joiner = parse('amount>=1000 OR -currency:"sbtc" OR created<5')
    assert joiner == "OR"
    assert clauses[0].value == 1000
    assert clauses[0].op == ">="
    assert clauses[1].negated
    assert clauses[2].field == "created"


def test_quoted_number() -> None:
    clauses, _ = parse("amount:'25000'")
    assert clauses[0].value == 25000


@pytest.mark.parametrize(
    "query",
    [
        "",
        "status:'a' AND amount>1 OR amount<5",
        "status>'a'",
        "nope:'x'",
        "status:'a' status:'b'",
        "status:'a' AND",
        "metadata['k']>'1'",
        "amount:'abc'",
        "status:unquoted",
    ],
)
def test_rejected(query: str) -> None:
    with pytest.raises(ParameterError) as info:
        parse(query)
    assert info.value.param == "query"
