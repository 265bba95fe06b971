"""Stripe's search query language, compiled to SQL conditions over one table's fields.

    status:'succeeded' AND metadata['order_id']:'6735'
    amount>1000 OR -currency:'sbtc'
    created>=1700000000

Clauses join with AND or OR (not both in one query, as in Stripe); `-` negates a clause. Each
searchable object names its fields (`SearchFields`): exact-match strings, compared integers,
and a metadata column when it has one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, not_, or_

from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.errors import GatewayError

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<joiner>AND|OR)(?=\s)
      | (?P<neg>-)?(?P<field>metadata\[(?P<mq>['"])(?P<mkey>(?:(?!(?P=mq)).)*)(?P=mq)\]|[a-z_]+)
        (?P<op>>=|<=|:|>|<)
        (?:(?P<q>['"])(?P<str>(?:\\.|(?!(?P=q)).)*)(?P=q)|(?P<num>-?\d+))
    )""",
    re.VERBOSE,
)

MAX_CLAUSES = 10


@dataclass(frozen=True)
class SearchFields:
    strings: Mapping[str, Any]
    numbers: Mapping[str, Any]
    metadata: Any = None
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        extra = ("metadata['key']",) if self.metadata is not None else ()
        object.__setattr__(self, "names", (*self.strings, *self.numbers, *extra))


@dataclass(frozen=True)
class Clause:
    field: str
    op: str
    value: str | int
    negated: bool
    metadata_key: str | None


def _fail(message: str) -> GatewayError:
    return codes.PARAMETER_INVALID(param="query", message=message)


def parse(query: str, fields: SearchFields) -> tuple[list[Clause], str]:
    clauses: list[Clause] = []
    joiners: set[str] = set()
    pos = 0
    expect_clause = True
    text = query.strip()
    if not text:
        raise _fail("The search query is empty.")
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise _fail(f"Could not parse the search query at position {pos}: {text[pos:][:40]!r}")
        pos = match.end()
        if match.group("joiner"):
            if expect_clause:
                raise _fail(f"Unexpected {match.group('joiner')} at position {match.start()}.")
            joiners.add(match.group("joiner"))
            expect_clause = True
            continue
        if not expect_clause:
            raise _fail("Clauses must be joined with AND or OR.")
        clauses.append(_clause(match, fields))
        expect_clause = False
    if expect_clause:
        raise _fail("The search query ends with AND or OR.")
    if len(joiners) > 1:
        raise _fail("A search query cannot mix AND and OR.")
    if len(clauses) > MAX_CLAUSES:
        raise _fail(f"A search query has at most {MAX_CLAUSES} clauses.")
    return clauses, (joiners.pop() if joiners else "AND")


def _clause(match: re.Match[str], fields: SearchFields) -> Clause:
    name = match.group("field")
    op = match.group("op")
    raw_str = match.group("str")
    value: str | int
    value = re.sub(r"\\(.)", r"\1", raw_str) if raw_str is not None else int(match.group("num"))
    metadata_key = match.group("mkey")
    if metadata_key is not None and fields.metadata is not None:
        name = "metadata"
        if op != ":" or not isinstance(value, str):
            raise _fail("metadata clauses take the form metadata['key']:'value'.")
    elif name in fields.strings:
        if op != ":" or not isinstance(value, str):
            raise _fail(f"The field {name} only supports exact matches with a quoted string.")
    elif name in fields.numbers:
        if isinstance(value, str):
            if not value.lstrip("-").isdigit():
                raise _fail(f"The field {name} takes an integer.")
            value = int(value)
    else:
        supported = ", ".join(fields.names)
        raise _fail(f"Unsupported search field {name!r}; supported: {supported}.")
    return Clause(name, op, value, bool(match.group("neg")), metadata_key)


def to_condition(query: str, fields: SearchFields) -> ColumnElement[bool]:
    clauses, joiner = parse(query, fields)
    conditions = [_condition(c, fields) for c in clauses]
    return and_(*conditions) if joiner == "AND" else or_(*conditions)


def _condition(clause: Clause, fields: SearchFields) -> ColumnElement[bool]:
    column: Any
    if clause.field == "metadata":
        assert clause.metadata_key is not None
        column = fields.metadata[clause.metadata_key].as_string()
    elif clause.field in fields.strings:
        column = fields.strings[clause.field]
    else:
        column = fields.numbers[clause.field]
    value = clause.value
    cond: ColumnElement[bool]
    if clause.op == ":":
        cond = column == value
    elif clause.op == ">":
        cond = column > value
    elif clause.op == "<":
        cond = column < value
    elif clause.op == ">=":
        cond = column >= value
    else:
        cond = column <= value
    return not_(cond) if clause.negated else cond
