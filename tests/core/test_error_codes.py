"""The error catalogue (`core/error_codes.py`): every answer the gateway gives comes from it, and
rendering an entry gives the same Stripe envelope as before the catalogue existed."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from sbtc_gateway.config import Settings
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core import errors
from sbtc_gateway.core.errors import ErrorCode
from tests.conftest import Merchant, redis_test_prefix, sign_up

SRC = Path(__file__).resolve().parents[2] / "src" / "sbtc_gateway"
CATALOGUE_FILE = SRC / "core" / "error_codes.py"
# Stripe's statuses, plus 405: `method_not_allowed` was answered with it before the catalogue,
# and keeping the wire unchanged matters more than a tidy list.
STATUSES = {400, 401, 402, 403, 404, 405, 409, 413, 422, 429, 499, 500, 502, 503}
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
LITERAL_CODE = re.compile(r"""(\bcode\s*=\s*["']|\bdefault_code\s*=)""")
DOCS = "http://127.0.0.1:8000/docs/errors#"  # the gateway's own page (test settings' URL)


def _entries() -> list[ErrorCode]:
    found = {id(v): v for v in vars(codes).values() if isinstance(v, ErrorCode)}
    return list(found.values())


def test_no_error_code_literals_outside_the_catalogue() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        if path != CATALOGUE_FILE
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if LITERAL_CODE.search(line)
    ]
    assert offenders == []


def test_no_error_classes_outside_core_errors() -> None:
    """A subclass elsewhere would bring its own status and code back (ChainUnavailableError
    did); the Stacks toolkit's own exceptions (`chain/errors.py`) are not GatewayErrors."""
    names = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.GatewayError)
    }
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "core" / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else ast.unparse(b) for b in node.bases}
                if bases & names:
                    offenders.append(f"{path.relative_to(SRC)}: {node.name}")
    assert offenders == []


def test_codes_are_unique_snake_case_with_a_known_status() -> None:
    entries = _entries()
    assert len({e.code for e in entries}) == len(entries) == len(codes.CATALOGUE)
    for entry in entries:
        assert SNAKE.match(entry.code), entry.code
        assert entry.status in STATUSES, entry.code
        assert entry.type in ("invalid_request_error", "api_error", "idempotency_error")
        assert (entry.type == "api_error") == (entry.status >= 500), entry.code
        assert entry.anchor == entry.code
        assert entry.doc_url == DOCS + entry.code


def test_every_entry_is_explained_and_its_placeholders_documented() -> None:
    used: set[str] = set()
    for entry in codes.CATALOGUE.values():
        assert len(entry.explanation.split()) >= 8, entry.code
        assert entry.message.strip(), entry.code
        missing = set(entry.placeholders) - set(codes.PLACEHOLDERS)
        assert not missing, f"{entry.code}: document {missing} in PLACEHOLDERS"
        used.update(entry.placeholders)
        entry.render(**dict.fromkeys(entry.placeholders, "x"))  # the template is well formed
    assert set(codes.PLACEHOLDERS) == used, "unused PLACEHOLDERS entries"


def test_validation_failures_are_the_codes_the_idempotency_layer_forgets() -> None:
    validation = {e.code for e in codes.CATALOGUE.values() if e.validation}
    assert validation == {
        "parameter_unknown",
        "parameter_missing",
        "parameter_invalid_integer",
        "parameter_invalid_boolean",
        "parameter_invalid",
        "parameters_exclusive",
        "amount_too_small",
        "amount_too_large",
        "invalid_stacks_address",
        "email_invalid",
        "url_invalid",
        "customers_unsupported",
        "parameter_invalid_string",
    }


@pytest.mark.parametrize(
    ("entry", "cls"),
    [
        (codes.RESOURCE_MISSING, errors.NotFoundError),
        (codes.API_KEY_INVALID, errors.AuthenticationError),
        (codes.SECRET_KEY_REQUIRED, errors.PermissionDeniedError),
        (codes.LOCK_TIMEOUT, errors.ConflictError),
        (codes.PASSWORD_CHANGED, errors.ConflictError),
        (codes.IDEMPOTENCY_KEY_IN_USE, errors.IdempotencyError),
        (codes.API_ERROR, errors.ApiError),
        (codes.CHAIN_UNAVAILABLE, errors.ApiError),
        (codes.PARAMETER_INVALID, errors.ParameterError),
        (codes.RATE_LIMIT, errors.InvalidRequestError),
        (codes.PAYMENT_INTENT_UNEXPECTED_STATE, errors.InvalidRequestError),
    ],
)
def test_an_entry_builds_the_class_its_status_calls_for(
    entry: ErrorCode, cls: type[errors.GatewayError]
) -> None:
    values = dict.fromkeys(entry.placeholders, "x")
    error = entry(**values)
    assert type(error) is cls
    assert (error.code, error.status, error.type) == (entry.code, entry.status, entry.type)
    assert error.is_validation_failure is entry.validation


def test_calling_an_entry_fills_the_template_param_extra_and_headers() -> None:
    error = codes.AMOUNT_TOO_SMALL(param="amount", minimum=100, headers={"X-A": "1"})
    assert error.to_dict() == {
        "error": {
            "type": "invalid_request_error",
            "message": "Amount must be at least 100 sats.",
            "code": "amount_too_small",
            "param": "amount",
            "doc_url": DOCS + "amount_too_small",
        }
    }
    assert error.headers == {"X-A": "1"}
    # `param` fills `{param}` too; `message=` replaces the template; `extra` joins the body
    assert codes.PARAMETER_MISSING(param="role").message == "Missing required param: role."
    state = codes.PAYMENT_INTENT_UNEXPECTED_STATE(
        message="Not now.", extra={"payment_intent": {"id": "pi_1", "status": "succeeded"}}
    )
    assert state.to_dict()["error"]["message"] == "Not now."
    assert state.to_dict()["error"]["payment_intent"] == {"id": "pi_1", "status": "succeeded"}


def test_the_portal_rendering_lists_every_entry() -> None:
    listed = codes.catalogue()
    assert [item["code"] for item in listed] == list(codes.CATALOGUE)
    orjson.dumps(listed)  # plain data, ready to serve
    first = next(item for item in listed if item["code"] == "amount_too_small")
    assert first == {
        "code": "amount_too_small",
        "status": 400,
        "type": "invalid_request_error",
        "message": "Amount must be at least {minimum} sats.",
        "doc_url": DOCS + "amount_too_small",
        "explanation": codes.AMOUNT_TOO_SMALL.explanation,
        "validation": True,
        "placeholders": {"minimum": codes.PLACEHOLDERS["minimum"]},
    }


# --- through the app: the envelopes are byte for byte what they were ---------------------------


def _envelope(code: str, message: str, param: str | None) -> dict[str, Any]:
    return {
        "error": {
            "type": "invalid_request_error",
            "message": message,
            "code": code,
            "param": param,
            "doc_url": DOCS + code,
        }
    }


async def test_unknown_parameter_envelope(merchant: Merchant) -> None:
    response = await merchant.post(
        "/v1/payment_intents", {"amount": 25_000, "currency": "sbtc", "colour": "red"}
    )
    assert response.status_code == 400
    assert response.headers["Stripe-Should-Retry"] == "false"
    assert response.json() == _envelope(
        "parameter_unknown", "Received unknown parameter: colour", "colour"
    )


async def test_unknown_object_envelope(merchant: Merchant) -> None:
    response = await merchant.get("/v1/payment_intents/pi_0000000000000000000000000Z")
    assert response.status_code == 404
    assert response.json() == _envelope(
        "resource_missing", "No such payment_intent: 'pi_0000000000000000000000000Z'", "intent"
    )


async def test_wrong_key_envelope(merchant: Merchant) -> None:
    response = await merchant.get("/v1/payment_intents", key="sk_test_" + "0" * 20 + "abcd")
    assert response.status_code == 401
    assert response.json() == _envelope(
        "api_key_invalid", "Invalid API Key provided: sk_test_********abcd", None
    )


async def test_rate_limit_envelope(sqlite_settings: Settings, make_instance: Any) -> None:
    open_ = await make_instance(sqlite_settings)
    body = (await sign_up(open_.client)).body
    limited = await make_instance(
        sqlite_settings.model_copy(
            update={"redis_key_prefix": redis_test_prefix(), "rate_limit_per_minute": 1}
        )
    )
    m = Merchant(limited.client, body)
    assert (await m.get("/v1/account")).status_code == 200
    refused = await m.get("/v1/account")
    assert refused.status_code == 429
    wait = refused.headers["Retry-After"]
    assert refused.json() == _envelope(
        "rate_limit",
        f"Too many requests hit the API too quickly. Retry after {wait} seconds.",
        None,
    )
