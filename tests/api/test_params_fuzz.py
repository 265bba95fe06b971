"""Every string (and integer) parameter the OpenAPI document lists, sent hostile values.

For each operation of `/openapi.json` and each parameter in its path, query and body (nested
objects included: `metadata[…]`, `payment_method_data[sbtc][payer]`), one request per bad value:
a NUL byte, a lone surrogate (JSON), bytes that are not UTF-8 (form body, query), an over-long
value, a value one character past the documented `maxLength`, and loose integers. Requests are
made as a merchant with a secret key and carry a valid `Sbtc-Signature` (so routes that check
one reach their parameters); `/v1/users/me…` as the owner's dashboard session. Each answer must
be below 500, a 400 must name the parameter in Stripe's envelope, and the database must be
exactly as it was before the request.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import sbtc_gateway.db.models  # noqa: F401  (registers every table on Base.metadata)
from sbtc_gateway.core import request_signing
from sbtc_gateway.db.base import Base
from tests.conftest import TEST_ADDRESS, Merchant, sign_up

PASSWORD = "correct horse battery staple"
LONG_BODY = 300_000  # past the 256 KiB body limit: a clean 413
LONG_URL = 60_000  # httpx refuses URLs over 64 KiB; still far past every string's maximum


@dataclass(frozen=True)
class Raw:
    """Bytes placed verbatim in a form body or query string (already percent-encoded)."""

    data: bytes


@dataclass(frozen=True)
class Param:
    where: str  # "path" | "query" | "body"
    path: tuple[str, ...]  # ("metadata", "order"): `metadata[order]`
    kind: str  # "string" | "integer" | "key" (a bad key of a hash)
    max_length: int | None = None

    @property
    def name(self) -> str:
        head, *rest = self.path
        return head + "".join(f"[{p}]" for p in rest)


class Spec:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.doc["components"]["schemas"][name]
        return schema

    def walk(self, schema: dict[str, Any], path: tuple[str, ...], where: str) -> Iterator[Param]:
        schema = self.resolve(schema)
        for branch in schema.get("anyOf", []):
            branch = self.resolve(branch)
            if branch.get("type") == "string" and "maxLength" in schema:
                branch = {**branch, "maxLength": schema["maxLength"]}
            yield from self.walk(branch, path, where)
        kind = schema.get("type")
        if kind == "string":
            yield Param(where, path, "string", schema.get("maxLength"))
        elif kind == "integer":
            yield Param(where, path, "integer")
        elif kind == "array":
            yield from self.walk(schema.get("items", {}), (*path, "0"), where)
        elif kind == "object":
            for name, prop in schema.get("properties", {}).items():
                yield from self.walk(prop, (*path, name), where)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                yield Param(where, path, "key")
                yield from self.walk(extra, (*path, "order"), where)

    def example(self, schema: dict[str, Any], name: str = "") -> Any:
        """A value the parameter model accepts (the service may still refuse it)."""
        schema = self.resolve(schema)
        if "anyOf" in schema:
            branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
            return self.example(branches[0], name)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object":
            required = schema.get("required", [])
            props = schema.get("properties", {})
            return {k: self.example(props[k], k) for k in required}
        if kind == "array":
            return [self.example(schema.get("items", {}), name)]
        if kind == "integer":
            return 5000
        if kind == "boolean":
            return False
        if "email" in name:
            return "fuzz@example.com"
        if "password" in name:
            return PASSWORD
        if name == "stacks_address":
            return TEST_ADDRESS
        return "x"

    def build(self, schema: dict[str, Any], path: tuple[str, ...], leaf: Any) -> Any:
        """The schema's example with the value at `path` replaced by `leaf`."""
        if not path:
            return leaf
        schema = self.resolve(schema)
        head, *rest = path
        for branch in schema.get("anyOf", []):
            branch = self.resolve(branch)
            if branch.get("type") in ("object", "array"):
                return self.build(branch, path, leaf)
        if schema.get("type") == "array":
            return [self.build(schema.get("items", {}), tuple(rest), leaf)]
        out = self.example(schema) if schema.get("type") == "object" else {}
        sub = schema.get("properties", {}).get(head) or schema.get("additionalProperties") or {}
        out[head] = self.build(sub, tuple(rest), leaf)
        return out


def _encode(value: Any) -> bytes:
    if isinstance(value, Raw):
        return value.data
    if isinstance(value, bool):
        return b"true" if value else b"false"
    return quote(str(value), safe="").encode()


def form_encode(params: dict[Any, Any]) -> bytes:
    pairs: list[bytes] = []

    def walk(value: Any, key: bytes) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, key + b"[" + _encode(k) + b"]" if key else _encode(k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, key + f"[{i}]".encode())
        else:
            pairs.append(key + b"=" + _encode(value))

    walk(params, b"")
    return b"&".join(pairs)


def _json_encode(params: dict[Any, Any]) -> bytes:
    # ensure_ascii writes NUL and lone surrogates as \u escapes: valid JSON text
    return json.dumps(params).encode()


@dataclass(frozen=True)
class Case:
    method: str
    template: str
    param: Param
    label: str
    value: Any
    encoding: str  # "form" | "json" | "query" | "path"


STRING_VALUES: dict[str, list[tuple[str, Any]]] = {
    "form": [
        ("nul", Raw(b"a%00b")),
        ("not-utf8", Raw(b"%FF")),
        ("bad-utf8-sequence", Raw(b"%C3%28")),
        ("long", "x" * LONG_BODY),
    ],
    "json": [("nul", "a\x00b"), ("lone-surrogate", "\ud800"), ("long", "x" * LONG_BODY)],
    "query": [
        ("nul", Raw(b"a%00b")),
        ("not-utf8", Raw(b"%FF")),
        ("bad-utf8-sequence", Raw(b"%C3%28")),
        ("long", "x" * LONG_URL),
    ],
    "path": [("nul", Raw(b"pi_%00")), ("not-utf8", Raw(b"pi_%FF")), ("long", "x" * LONG_URL)],
}
KEY_VALUES: dict[str, list[tuple[str, Any]]] = {
    "form": [("nul-key", Raw(b"or%00der")), ("not-utf8-key", Raw(b"or%FFder"))],
    "json": [("nul-key", "or\x00der"), ("lone-surrogate-key", "or\udc00der")],
    "query": [("nul-key", Raw(b"or%00der"))],
}
INTEGER_VALUES: dict[str, list[tuple[str, Any]]] = {
    "form": [("underscore", "1_000"), ("float", "1000.0"), ("spaced", " 1000"), ("wide", "１")],
    "json": [("float", 1000.0), ("bool", True), ("exponent", "1e3")],
    "query": [("underscore", "1_000"), ("plus", "+10"), ("hex", "0x10"), ("wide", "１")],
}


def cases(doc: dict[str, Any]) -> list[Case]:
    spec = Spec(doc)
    out: list[Case] = []
    for template, operations in doc["paths"].items():
        if template.startswith("/v1/platform/"):
            continue  # operators' tokens only: a merchant gets 401 first (tests/platform)
        for method, op in operations.items():
            method = method.upper()
            params: list[Param] = []
            for p in op.get("parameters", []):
                params.extend(spec.walk(p["schema"], (p["name"],), p["in"]))
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                params.extend(spec.walk(body["schema"], (), "body"))
            for param in params:
                encodings = ["form", "json"] if param.where == "body" else [param.where]
                for encoding in encodings:
                    table = {"string": STRING_VALUES, "key": KEY_VALUES}.get(
                        param.kind, INTEGER_VALUES
                    )
                    values = list(table.get(encoding, []))
                    if param.kind == "string" and param.max_length and encoding != "path":
                        values.append(("past-max-length", "x" * (param.max_length + 1)))
                    for label, value in values:
                        out.append(Case(method, template, param, label, value, encoding))
    return out


class Fuzzer:
    def __init__(self, client: httpx.AsyncClient, spec: Spec, merchant: Merchant) -> None:
        self.client = client
        self.spec = spec
        self.merchant = merchant
        self.ids: dict[str, str] = {}
        self.owner_token = ""

    def request(self, case: Case) -> httpx.Request:
        path = case.template
        for name, real in self.ids.items():
            if name == case.param.path[0] and case.param.where == "path":
                value = case.value
                path = path.replace("{" + name + "}", _encode(value).decode())
            path = path.replace("{" + name + "}", real)
        headers: dict[str, str] = {}
        content = b""
        op = self.spec.doc["paths"][case.template][case.method.lower()]
        if case.encoding == "query":
            # the operation's required query parameters, so that only this one is wrong
            query_params = {
                p["name"]: self.spec.example(p["schema"], p["name"])
                for p in op["parameters"]
                if p["in"] == "query" and p.get("required")
            }
            schema = next(p for p in op["parameters"] if p["name"] == case.param.path[0])
            leaf = {case.value: "1"} if case.param.kind == "key" else case.value
            query_params[case.param.path[0]] = self.spec.build(
                schema["schema"], case.param.path[1:], leaf
            )
            path += "?" + form_encode(query_params).decode()
        elif case.encoding in ("form", "json"):
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            leaf = {case.value: "1"} if case.param.kind == "key" else case.value
            params = self.spec.build(schema, case.param.path, leaf)
            if case.encoding == "form":
                content = form_encode(params)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                content = _json_encode(params)
                headers["Content-Type"] = "application/json"
        if path.startswith(("/v1/users/me", "/v1/auth/")):
            headers["Authorization"] = f"Bearer {self.owner_token}"
        else:
            headers["Authorization"] = f"Bearer {self.merchant.sk}"
            secret = self.merchant.signing_secrets[self.merchant.sk]
            headers["Sbtc-Signature"] = request_signing.sign_header(
                secret, case.method, path, content
            )
        if case.method == "POST":
            headers["Idempotency-Key"] = secrets.token_hex(8)
        return self.client.build_request(case.method, path, content=content, headers=headers)


async def snapshot(app: Any, merchant_id: str) -> list[Any]:
    """Every table's row count, and every row of this merchant (an update shows too)."""
    state: list[Any] = []
    async with app.state.gateway.sessions() as session:
        for table in Base.metadata.sorted_tables:
            state.append(
                (table.name, await session.scalar(select(func.count()).select_from(table)))
            )
            column = table.c.get("merchant_id")
            if table.name == "merchants":
                column = table.c.id
            if column is not None:
                rows = (await session.execute(select(table).where(column == merchant_id))).all()
                state.append(sorted(tuple(map(repr, row)) for row in rows))
    return state


async def _setup(client: httpx.AsyncClient) -> Fuzzer:
    merchant = await sign_up(client, password=PASSWORD)
    spec = Spec((await client.get("/openapi.json")).json())
    fuzzer = Fuzzer(client, spec, merchant)
    login = await client.post(
        "/v1/auth/login", data={"email": merchant.body["email"], "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    fuzzer.owner_token = login.json()["access_token"]
    pi = await merchant.create_intent(description="fuzz target")
    endpoint = await merchant.post(
        "/v1/webhook_endpoints", {"url": "https://hooks.example/fuzz", "enabled_events[0]": "*"}
    )
    assert endpoint.status_code == 200, endpoint.text
    user = await merchant.post(
        "/v1/users",
        {"email": f"fuzz-{secrets.token_hex(4)}@example.com", "role": "admin",
         "password": PASSWORD},
    )  # fmt: skip
    assert user.status_code == 200, user.text
    event = (await merchant.get("/v1/events", {"limit": 1})).json()["data"][0]
    fuzzer.ids = {
        "intent_id": pi["id"],
        "endpoint_id": endpoint.json()["id"],
        "user_id": user.json()["id"],
        "event_id": event["id"],
        "refund_id": "re_none",
        "charge_id": "ch_none",
        "balance_transaction_id": "txn_none",
        "run_id": "frr_none",
        "file_id": "file_none",
    }
    # every path parameter the document names has a value here (a new route must add one)
    templates = "".join(spec.doc["paths"])
    assert all("{" + name + "}" in templates for name in fuzzer.ids)
    return fuzzer


def _check(case: Case, response: httpx.Response) -> str | None:
    """What is wrong with the answer, if anything."""
    status = response.status_code
    if status >= 500:
        return f"{status}: {response.text[:300]}"
    try:
        error = response.json().get("error")
    except ValueError:
        error = None
    if error is None:
        return f"{status} without an error envelope: {response.text[:200]}"
    if status == 413:
        # The body limit (256 KiB) is checked before parameters: only an over-long body.
        return None if case.label == "long" and case.encoding in ("form", "json") else "413"
    if status != 400:
        return f"unexpected {status}: {error}"
    if error.get("type") != "invalid_request_error" or not error.get("param"):
        return f"{status} without a param: {error}"
    named = error["param"]
    if case.param.kind == "key":  # names the bad key inside the hash, or the hash
        if not named.startswith(case.param.name):
            return f"names {named!r}, not a key of {case.param.name!r}"
    elif case.param.where != "path" and not case.param.name.startswith(named):
        return f"names {named!r}, not {case.param.name!r}"
    if case.param.kind == "integer" and error.get("code") != "parameter_invalid_integer":
        return f"integer answered {error.get('code')}"
    return None


async def test_every_parameter_refuses_hostile_values(app: Any, client: httpx.AsyncClient) -> None:
    fuzzer = await _setup(client)
    all_cases = cases(fuzzer.spec.doc)
    assert len(all_cases) > 300  # the walk found the parameters (path, query, body, nested)
    before = await snapshot(app, fuzzer.merchant.id)
    problems: list[str] = []
    for case in all_cases:
        response = await client.send(fuzzer.request(case))
        what = f"{case.method} {case.template} {case.param.where}:{case.param.name} {case.label}"
        problem = _check(case, response)
        after = await snapshot(app, fuzzer.merchant.id)
        if after != before:
            problem = f"{problem or response.status_code}, and changed the database"
            before = after
        if problem is not None:
            problems.append(f"{what} ({case.encoding}): {problem}")
    assert not problems, f"{len(problems)} of {len(all_cases)}:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"a": "1", "m": {"k": "v"}}, b"a=1&m[k]=v"),
        ({"e": ["x", Raw(b"%FF")]}, b"e[0]=x&e[1]=%FF"),
        ({"m": {Raw(b"k%00"): "a b"}}, b"m[k%00]=a%20b"),
    ],
)
def test_the_form_encoder(params: dict[Any, Any], expected: bytes) -> None:
    assert form_encode(params) == expected


_MERCHANTS: dict[int, Merchant] = {}

# Any storable text, or such text with a NUL or a lone surrogate inside: about half each.
STORABLE = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
ANY_TEXT = st.one_of(
    STORABLE.filter(bool),
    st.builds(
        lambda head, bad, tail: head + bad + tail,
        STORABLE,
        st.sampled_from(["\x00", "\ud800", "\udfff"]),
        STORABLE,
    ),
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same strings every run: a failure here is a real regression
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(description=ANY_TEXT, key=ANY_TEXT, value=ANY_TEXT)
async def test_generated_strings_round_trip_or_are_refused_by_name(
    app: Any, client: httpx.AsyncClient, description: str, key: str, value: str
) -> None:
    """Text a column can hold comes back exactly as sent; anything else is a 400 naming it,
    with nothing created."""
    merchant = _MERCHANTS.get(id(client)) or await sign_up(client)
    _MERCHANTS[id(client)] = merchant
    body = {
        "amount": 5000,
        "currency": "sbtc",
        "description": description,
        "metadata": {key: value},
    }
    before = await snapshot(app, merchant.id)
    request = client.build_request(
        "POST",
        "/v1/payment_intents",
        content=_json_encode(body),
        headers={"Authorization": f"Bearer {merchant.sk}", "Content-Type": "application/json"},
    )
    response = await client.send(request)
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        created = response.json()
        assert created["description"] == description
        assert created["metadata"] == {key: value}
        return
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"], response.text
    assert await snapshot(app, merchant.id) == before
