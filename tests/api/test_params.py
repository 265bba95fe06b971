"""Hostile input at the HTTP edge: NUL bytes, lone surrogates, bytes that are not UTF-8,
over-long strings, loose integers and bad headers. Each is a 400 in Stripe's envelope that
names the parameter (bracket notation; a path id by its public name), never a 500, and
changes nothing. PostgreSQL refuses NUL in text and raises on over-long values, so every case
runs on both databases."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from sbtc_gateway.events.models import Event
from sbtc_gateway.merchants.models import Merchant as MerchantRow
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.webhooks.models import WebhookEndpoint
from tests.conftest import TEST_ADDRESS, Merchant

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PI = "/v1/payment_intents"


async def _counts(app: Any, merchant_id: str) -> tuple[int, int, int]:
    async with app.state.gateway.sessions() as session:
        counts = []
        for model in (PaymentIntent, Event, WebhookEndpoint):
            counts.append(
                await session.scalar(
                    select(func.count()).select_from(model).where(model.merchant_id == merchant_id)
                )
            )
    return int(counts[0] or 0), int(counts[1] or 0), int(counts[2] or 0)


async def _send(
    merchant: Merchant,
    method: str,
    path: str,
    *,
    content: bytes | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A request whose bytes are exactly these (httpx would re-encode `data=`)."""
    extra = dict(headers or {})
    if body is not None:
        content = json.dumps(body).encode()
        extra["Content-Type"] = "application/json"
    elif content is not None:
        extra = {**FORM, **extra}
    request = merchant.client.build_request(
        method, path, content=content, headers=merchant.headers(**extra)
    )
    return await merchant.client.send(request)


def _expect(response: httpx.Response, param: str, code: str | None = None) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error", error
    assert error["param"] == param, error
    assert error["message"], error
    if code is not None:
        assert error["code"] == code, error


CREATE = b"amount=5000&currency=sbtc&"


@pytest.mark.parametrize(
    ("content", "param"),
    [
        (CREATE + b"description=a%00b", "description"),
        (CREATE + b"metadata[order]=4%002", "metadata[order]"),
        (CREATE + b"metadata[or%00der]=42", "metadata[or\x00der]"),
        (CREATE + b"receipt_email=a%00@example.com", "receipt_email"),
        (CREATE + b"return_url=https://shop.example/%00", "return_url"),
        (
            CREATE + b"payment_method_data[type]=sbtc&payment_method_data[sbtc][payer]=ST%00",
            "payment_method_data[sbtc][payer]",
        ),
        (CREATE + b"expand[0]=a%00", "expand[0]"),
        (CREATE + b"col%00our=red", "col\x00our"),
        (b"amount=5000&currency=sb%00tc", "currency"),
    ],
)
async def test_nul_in_a_form_body(app: Any, merchant: Merchant, content: bytes, param: str) -> None:
    before = await _counts(app, merchant.id)
    response = await _send(merchant, "POST", PI, content=content)
    _expect(response, param)
    assert await _counts(app, merchant.id) == before


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"description": "a\x00b"}, "description"),
        ({"metadata": {"order": "4\x002"}}, "metadata[order]"),
        ({"metadata": {"a\x00": "1"}}, "metadata[a\x00]"),
        ({"description": "\ud800"}, "description"),
        ({"metadata": {"order": "x\udfff"}}, "metadata[order]"),
        ({"metadata": {"\ud83d": "1"}}, "metadata[\ufffd]"),  # a name JSON can carry
        ({"payment_method_data": {"type": "sbtc", "sbtc": {"payer": "\ud800"}}},
         "payment_method_data[sbtc][payer]"),
    ],
)  # fmt: skip
async def test_nul_and_lone_surrogates_in_json(
    app: Any, merchant: Merchant, extra: dict[str, Any], param: str
) -> None:
    before = await _counts(app, merchant.id)
    body = {"amount": 5000, "currency": "sbtc", **extra}
    response = await _send(merchant, "POST", PI, body=body)
    _expect(response, param, "parameter_invalid_string")
    assert await _counts(app, merchant.id) == before


@pytest.mark.parametrize(
    ("content", "param"),
    [
        (CREATE + b"description=%FF", "description"),
        (CREATE + b"description=%C3%28", "description"),
        (CREATE + b"description=\xff\xfe", "description"),
        (CREATE + b"metadata[order]=%ED%A0%80", "metadata[order]"),  # an encoded surrogate
    ],
)
async def test_form_bytes_that_are_not_utf8(
    app: Any, merchant: Merchant, content: bytes, param: str
) -> None:
    before = await _counts(app, merchant.id)
    _expect(await _send(merchant, "POST", PI, content=content), param, "parameter_invalid_string")
    assert await _counts(app, merchant.id) == before


async def test_a_key_that_is_not_utf8_is_named_as_best_it_can_be(merchant: Merchant) -> None:
    response = await _send(merchant, "POST", PI, content=CREATE + b"meta%FF=1")
    _expect(response, "meta\ufffd", "parameter_invalid_string")


async def test_json_that_is_not_utf8_names_the_parameter(merchant: Merchant) -> None:
    content = b'{"amount": 5000, "currency": "sbtc", "description": "\xff"}'
    response = await _send(
        merchant, "POST", PI, content=content, headers={"Content-Type": "application/json"}
    )
    _expect(response, "description", "parameter_invalid_string")


@pytest.mark.parametrize(
    ("path", "query", "param"),
    [
        (PI, "starting_after=pi_%00", "starting_after"),
        (PI, "starting_after=%FF", "starting_after"),
        (PI, "created[gt%00]=1", "created[gt\x00]"),
        (PI + "/search", "query=status%3A%27%00%27", "query"),
        ("/v1/events", "type=%C3%28", "type"),
        ("/v1/refunds", "payment_intent=pi_%00", "payment_intent"),
        ("/v1/webhook_endpoints", "ending_before=we_%00", "ending_before"),
        ("/v1/users", "starting_after=%00", "starting_after"),
    ],
)
async def test_query_strings(merchant: Merchant, path: str, query: str, param: str) -> None:
    response = await _send(merchant, "GET", f"{path}?{query}")
    _expect(response, param, "parameter_invalid_string")


@pytest.mark.parametrize(
    ("method", "path", "param"),
    [
        ("GET", PI + "/pi_%00", "intent"),
        ("POST", PI + "/pi_%00", "intent"),
        ("POST", PI + "/pi_%00/confirm", "intent"),
        ("POST", PI + "/pi_%00/cancel", "intent"),
        ("GET", "/v1/refunds/re_%00x", "id"),
        ("GET", "/v1/webhook_endpoints/we_%00", "webhook_endpoint"),
        ("POST", "/v1/webhook_endpoints/we_%00", "webhook_endpoint"),
        ("DELETE", "/v1/webhook_endpoints/we_%00", "webhook_endpoint"),
        ("POST", "/v1/webhook_endpoints/we_%00/rotate_secret", "webhook_endpoint"),
        ("POST", "/v1/webhook_endpoints/we_%00/test", "webhook_endpoint"),
        ("GET", "/v1/webhook_endpoints/we_%00/attempts", "webhook_endpoint"),
        ("GET", "/v1/events/evt_%00", "id"),
        ("POST", "/v1/events/evt_%00/retry", "id"),
        ("GET", "/v1/users/usr_%00", "id"),
        ("POST", "/v1/users/usr_%00", "id"),
        ("DELETE", "/v1/users/usr_%00", "id"),
    ],
)
async def test_nul_in_a_path_id(
    app: Any, merchant: Merchant, method: str, path: str, param: str
) -> None:
    before = await _counts(app, merchant.id)
    response = await _send(merchant, method, path, content=b"" if method == "POST" else None)
    _expect(response, param, "parameter_invalid_string")
    assert await _counts(app, merchant.id) == before


@pytest.mark.parametrize(
    "path",
    [PI + "/pi_" + "x" * 300, "/v1/refunds/re_" + "x" * 300, "/v1/users/usr_" + "x" * 40],
)
async def test_ids_longer_than_any_id_are_400_or_404(merchant: Merchant, path: str) -> None:
    response = await _send(merchant, "GET", path)
    assert response.status_code in (400, 404), response.text
    assert response.json()["error"]["param"] in ("intent", "id")


def test_every_route_with_a_path_parameter_checks_it(app: Any) -> None:
    """The check lives in the routers' route class: a new router must use it too."""
    from fastapi.routing import APIRoute

    from sbtc_gateway.api.routing import CheckedPathRoute

    def walk(routes: list[Any]) -> list[Any]:  # FastAPI keeps included routers nested
        found: list[Any] = []
        for route in routes:
            context = getattr(route, "include_context", None)
            found += walk(context.included_router.routes) if context is not None else [route]
        return found

    routes = walk(app.routes)
    with_params = [r for r in routes if isinstance(r, APIRoute) and r.param_convertors]
    assert len(with_params) >= 15
    unchecked = [r.path for r in with_params if not isinstance(r, CheckedPathRoute)]
    assert unchecked == []


async def test_a_real_u_fffd_in_a_path_is_just_an_unknown_id(merchant: Merchant) -> None:
    """Only bytes that are not UTF-8 are refused; a U+FFFD the client really sent is an id
    like any other (and no such object exists)."""
    response = await _send(merchant, "GET", PI + "/pi_%EF%BF%BD")
    assert response.status_code == 404, response.text
    assert response.json()["error"]["param"] == "intent"


@pytest.mark.parametrize(
    ("data", "param"),
    [
        ({"description": "x" * 1001}, "description"),  # Stripe's limit for a PaymentIntent
        ({"receipt_email": "a" * 250 + "@example.com"}, "receipt_email"),  # String(255)
        ({"return_url": "https://shop.example/" + "x" * 5000}, "return_url"),
        ({"metadata[order]": "x" * 501}, "metadata"),
        ({"payment_method_data[type]": "sbtc", "payment_method_data[sbtc][payer]": "S" * 65},
         "payment_method_data[sbtc][payer]"),  # String(64)
    ],
)  # fmt: skip
async def test_over_long_strings(
    app: Any, merchant: Merchant, data: dict[str, str], param: str
) -> None:
    before = await _counts(app, merchant.id)
    response = await merchant.post(PI, {"amount": "5000", "currency": "sbtc", **data})
    _expect(response, param)
    assert await _counts(app, merchant.id) == before


async def test_a_description_of_exactly_the_limit_is_fine(merchant: Merchant) -> None:
    pi = await merchant.create_intent(description="x" * 1000)
    assert len(pi["description"]) == 1000


@pytest.mark.parametrize(
    ("path", "data", "param"),
    [
        ("/v1/account", {"business_name": "x" * 256}, "business_name"),  # String(255)
        ("/v1/account", {"business_name": "Shop\x00"}, "business_name"),
        ("/v1/webhook_endpoints",
         {"url": "https://hooks.example/x", "enabled_events[0]": "*", "api_version": "v" * 65},
         "api_version"),  # String(64)
        ("/v1/webhook_endpoints",
         {"url": "https://hooks.example/\x00", "enabled_events[0]": "*"}, "url"),
        ("/v1/webhook_endpoints",
         {"url": "https://hooks.example/x", "enabled_events[0]": "*", "description": "\x00"},
         "description"),
        ("/v1/users", {"email": "u\x00@example.com", "role": "admin",
                       "password": "correct horse battery"}, "email"),
    ],
)  # fmt: skip
async def test_other_writes(
    app: Any, merchant: Merchant, path: str, data: dict[str, str], param: str
) -> None:
    before = await _counts(app, merchant.id)
    _expect(await merchant.post(path, data), param)
    assert await _counts(app, merchant.id) == before
    account = (await merchant.get("/v1/account")).json()
    assert account["business_name"] == "Test Shop"


@pytest.mark.parametrize(
    ("field", "value"),
    [("business_name", "Shop\x00"), ("email", "a\x00@example.com"), ("business_name", "x" * 256)],
)
async def test_sign_up(app: Any, client: httpx.AsyncClient, field: str, value: str) -> None:
    email = f"nul-{field}-{len(value)}@example.com"
    data = {"business_name": "Shop", "email": email, "stacks_address": TEST_ADDRESS, field: value}
    _expect(await client.post("/v1/merchants", data=data), field)
    async with app.state.gateway.sessions() as session:
        found = await session.scalar(
            select(func.count()).select_from(MerchantRow).where(MerchantRow.email == email)
        )
    assert found == 0


LOOSE_INTEGERS = ["1_000", "1000.0", "1e3", " 1000", "1000 ", "+1000", "0x10", "１０００"]


@pytest.mark.parametrize("value", LOOSE_INTEGERS)
async def test_integers_are_strict_in_forms(app: Any, merchant: Merchant, value: str) -> None:
    before = await _counts(app, merchant.id)
    response = await merchant.post(PI, {"amount": value, "currency": "sbtc"})
    _expect(response, "amount", "parameter_invalid_integer")
    assert await _counts(app, merchant.id) == before


@pytest.mark.parametrize("value", [1000.0, True, "1000", "1e3", [1000], {"a": 1}])
async def test_integers_are_strict_in_json(app: Any, merchant: Merchant, value: Any) -> None:
    before = await _counts(app, merchant.id)
    response = await _send(merchant, "POST", PI, body={"amount": value, "currency": "sbtc"})
    if value == "1000":  # a JSON string of digits reads as the form would
        assert response.status_code == 200, response.text
        return
    _expect(response, "amount", "parameter_invalid_integer")
    assert await _counts(app, merchant.id) == before


async def test_plain_integers_stay_valid(merchant: Merchant) -> None:
    assert (await merchant.post(PI, {"amount": "1000", "currency": "sbtc"})).status_code == 200
    as_json = await _send(merchant, "POST", PI, body={"amount": 1000, "currency": "sbtc"})
    assert as_json.status_code == 200, as_json.text


async def test_an_integer_beyond_64_bits(merchant: Merchant) -> None:
    response = await merchant.post(PI, {"amount": "9" * 30, "currency": "sbtc"})
    _expect(response, "amount", "parameter_invalid_integer")
    as_json = await _send(merchant, "POST", PI, body={"amount": 10**30, "currency": "sbtc"})
    _expect(as_json, "amount", "parameter_invalid_integer")


@pytest.mark.parametrize(
    ("path", "query", "param"),
    [
        (PI, {"limit": "1_0"}, "limit"),
        (PI, {"limit": "１０"}, "limit"),
        (PI, {"created": "1e3"}, "created"),
        (PI, {"created[gt]": "+5"}, "created[gt]"),
        ("/v1/events", {"created[lte]": " 5"}, "created[lte]"),
        ("/v1/settlements", {"created": "5.0"}, "created"),
        ("/v1/users", {"limit": "0x10"}, "limit"),
    ],
)
async def test_integers_are_strict_in_queries(
    merchant: Merchant, path: str, query: dict[str, str], param: str
) -> None:
    _expect(await merchant.get(path, query), param, "parameter_invalid_integer")


async def test_unknown_keys_inside_a_range_filter(merchant: Merchant) -> None:
    response = await merchant.get(PI, {"created[gt]": "5", "created[x]": "6"})
    _expect(response, "created[x]", "parameter_unknown")


WRITES = [
    (PI, {"amount": "5000", "currency": "sbtc"}),
    ("/v1/webhook_endpoints", {"url": "https://hooks.example/h", "enabled_events[0]": "*"}),
    ("/v1/account", {"business_name": "Renamed"}),
]


@pytest.mark.parametrize(("path", "data"), WRITES)
@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("Idempotency-Key", "key\x00"),
        ("Idempotency-Key", "k" * 256),
        ("Stripe-Version", "2024\x00"),
        ("Stripe-Version", "v" * 65),  # events.api_version is String(64)
    ],
)
async def test_bad_headers_on_a_write(
    app: Any, merchant: Merchant, path: str, data: dict[str, str], header: str, value: str
) -> None:
    before = await _counts(app, merchant.id)
    _expect(await merchant.post(path, data, **{header: value}), header)
    assert await _counts(app, merchant.id) == before
    assert (await merchant.get("/v1/account")).json()["business_name"] == "Test Shop"


async def test_good_headers_still_work(merchant: Merchant) -> None:
    headers = {"Idempotency-Key": "k" * 255, "Stripe-Version": "2024-06-20"}
    first = await merchant.post(PI, {"amount": "5000", "currency": "sbtc"}, **headers)
    again = await merchant.post(PI, {"amount": "5000", "currency": "sbtc"}, **headers)
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


async def test_a_client_that_leaves_mid_body_is_a_499_not_a_server_error(
    app: Any, merchant: Merchant
) -> None:
    """wrk stopping, a browser tab closed: not a 5xx (which would page), no trace logged."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/payment_intents",
        "raw_path": b"/v1/payment_intents",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"gateway.test"),
            (b"authorization", f"Bearer {merchant.sk}".encode()),
            (b"content-type", b"application/x-www-form-urlencoded"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    messages = iter(
        [
            {"type": "http.request", "body": b"amount=100", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    assert sent[0]["status"] == 499
    assert b"client_closed_request" in sent[1]["body"]
