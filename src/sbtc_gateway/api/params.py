"""Reading request parameters the way Stripe's SDKs send them, and validating them.

Parameters come from the query string (GET/DELETE) or the body (form-encoded with brackets, or
JSON). They are validated by a pydantic model whose errors are turned into Stripe errors naming
the offending parameter in bracket notation (`metadata[order]`).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.requests import ClientDisconnect

from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.errors import ErrorCode, GatewayError
from sbtc_gateway.core.forms import check_strings, parse_form, parse_query
from sbtc_gateway.core.params import ParamValueError

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
    """The request's parameters, every string in them storable (see `check_strings`)."""
    query: bytes = request.scope.get("query_string", b"")
    params = parse_query(query) if query else {}
    check_strings(params)
    if request.method in ("GET", "DELETE", "HEAD"):
        return params
    body = await read_body(request, limit)
    if not body.strip():
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body_params = _json_params(body)
    elif content_type in ("application/x-www-form-urlencoded", ""):
        body_params = parse_form(body)
    else:
        raise codes.CONTENT_TYPE_UNSUPPORTED(content_type=content_type)
    check_strings(body_params)
    params.update(body_params)
    return params


def _json_params(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        # orjson refuses the whole body over one lone surrogate or byte that is not UTF-8.
        # Read it again leniently (such bytes become lone surrogates) so that the error can
        # name the parameter holding them; anything else stays "not valid JSON".
        data = _lenient_json(body)
        if isinstance(data, dict):
            check_strings(data)
        raise codes.REQUEST_BODY_INVALID_JSON() from None
    if not isinstance(data, dict):
        raise codes.REQUEST_BODY_NOT_OBJECT()
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _lenient_json(body: bytes) -> Any:
    try:
        text = body.decode("utf-8", "surrogateescape")
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None


def param_path(loc: tuple[int | str, ...]) -> str:
    head, *rest = (str(p) for p in loc)
    return head + "".join(f"[{p}]" for p in rest)


def validate(model: type[M], params: dict[str, Any]) -> M:
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise to_parameter_error(exc) from None


def _union_tag(part: int | str) -> bool:
    """A location part that names a union member (`RangeFilter`, `function-before[…]`,
    `nullable[int]`) rather than a parameter: parameters are lower-case, without brackets."""
    return isinstance(part, str) and (part[:1].isupper() or "[" in part or "-" in part)


def _most_specific(errors: list[ErrorDetails]) -> ErrorDetails:
    """The first parameter's error; of a union's errors (`created` is a range or a timestamp),
    the one about the shape the caller sent: one of ours with its code, else any that is not
    "wrong type for this member" (an unknown key of the range), else the first."""
    first = errors[0]["loc"][:1]
    errors = [e for e in errors if e["loc"][:1] == first]
    ours = [e for e in errors if isinstance(e.get("ctx", {}).get("error"), ParamValueError)]
    if ours:
        return ours[0]
    shaped = [e for e in errors if not e["type"].endswith("_type")]
    return shaped[0] if shaped else errors[0]


def to_parameter_error(exc: ValidationError) -> GatewayError:
    err = _most_specific(exc.errors(include_url=False))
    loc = tuple(p for p in err["loc"] if not _union_tag(p))
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
        # A `ParamValueError` brings its entry, its text rendered where the rule was checked
        # (with `{param}` where only this caller knows the parameter's name).
        error = err.get("ctx", {}).get("error", err["msg"])
        entry = getattr(error, "error", None)
        if not isinstance(entry, ErrorCode):
            entry = codes.PARAMETER_INVALID
        return entry(param=param, message=str(error).replace("{param}", param))
    return codes.PARAMETER_INVALID(param=param, reason=err["msg"])
