"""Reading request parameters the way Stripe's SDKs send them, and validating them.

Parameters come from the query string (GET/DELETE) or the body (form-encoded with brackets, or
JSON). They are validated by a pydantic model whose errors are turned into Stripe errors naming
the offending parameter in bracket notation (`metadata[order]`).
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.errors import ErrorCode, GatewayError
from sbtc_gateway.core.forms import parse_form, parse_query

M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise codes.REQUEST_TOO_LARGE(limit=limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise codes.REQUEST_TOO_LARGE(limit=limit)
            chunks.append(chunk)
    except ClientDisconnect:
        raise codes.CLIENT_CLOSED_REQUEST() from None
    body = b"".join(chunks)
    request._body = body  # later readers (signature check, then parameters) get it again
    return body


async def raw_params(request: Request, limit: int) -> dict[str, Any]:
    params = parse_query(request.url.query) if request.url.query else {}
    if request.method in ("GET", "DELETE", "HEAD"):
        return params
    body = await read_body(request, limit)
    if not body.strip():
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise codes.REQUEST_BODY_INVALID_JSON() from None
        if not isinstance(data, dict):
            raise codes.REQUEST_BODY_NOT_OBJECT()
        body_params: dict[str, Any] = data
    elif content_type in ("application/x-www-form-urlencoded", ""):
        body_params = parse_form(body)
    else:
        raise codes.CONTENT_TYPE_UNSUPPORTED(content_type=content_type)
    params.update(body_params)
    return params


def param_path(loc: tuple[int | str, ...]) -> str:
    head, *rest = (str(p) for p in loc)
    return head + "".join(f"[{p}]" for p in rest)


def validate(model: type[M], params: dict[str, Any]) -> M:
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise to_parameter_error(exc) from None


def to_parameter_error(exc: ValidationError) -> GatewayError:
    err = exc.errors(include_url=False)[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    param = param_path(loc)
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        return codes.PARAMETER_UNKNOWN(param=param)
    if kind == "missing" or (value is None and kind.endswith("_type")):
        return codes.PARAMETER_MISSING(param=param)
    if kind in ("int_parsing", "int_type", "int_from_float", "bool_type_int"):
        return codes.PARAMETER_INVALID_INTEGER(param=param, value=value)
    if kind in ("bool_parsing", "bool_type"):
        return codes.PARAMETER_INVALID_BOOLEAN(param=param, value=value)
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return codes.PARAMETER_INVALID(param=param, reason=err["msg"].lower())
    if kind in ("string_too_long", "string_too_short", "too_long", "too_short"):
        return codes.PARAMETER_INVALID(param=param, reason=err["msg"].lower())
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return codes.PARAMETER_INVALID(param=param, reason=f"must be one of {expected}")
    if kind == "value_error":
        # A `ParamValueError` brings its entry, its text rendered where the rule was checked.
        error = err.get("ctx", {}).get("error", err["msg"])
        entry = getattr(error, "error", None)
        if not isinstance(entry, ErrorCode):
            entry = codes.PARAMETER_INVALID
        return entry(param=param, message=str(error))
    return codes.PARAMETER_INVALID(param=param, reason=err["msg"])
