"""Reusable parameter types for request models (coercion from form strings included).

Every string type carries a maximum length (`Text`), shown as `maxLength` in the OpenAPI
document, and refuses what no text column can hold; every integer type is as strict as
Stripe's (`_strict_int`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from . import error_codes as codes
from .errors import ErrorCode
from .text import MAX_ID, MAX_STRING, printable, text_problem


class ParamValueError(ValueError):
    """A validation failure inside a pydantic validator (which only turns `ValueError`s into
    validation errors): `api.params` raises its entry once the parameter's path is known, and
    puts that path where the message says `{param}`."""

    def __init__(self, error: ErrorCode, *, message: str | None = None, **values: object) -> None:
        super().__init__(message if message is not None else error.render(**values))
        self.error = error


class Params(BaseModel):
    """Base for request parameter models: unknown parameters are errors, as in Stripe."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, frozen=True)


def _empty_to_none(value: Any) -> Any:
    return None if value == "" else value


def _shown(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:40] + "…"


_INTEGER = re.compile(r"-?[0-9]+")  # ASCII digits only: `\d` would take '１' or '٣'
INT64 = (-(2**63), 2**63 - 1)


def _strict_int(value: Any) -> Any:
    """An integer as Stripe reads one: JSON integers, or form strings of ASCII digits with an
    optional minus. Not `1_000`, ` 1000`, `+1000`, `1e3`, `1000.0`, `0x10`, full-width digits
    or booleans (Python's and pydantic's `int` take most of these). Within 64 bits, the size
    of every integer column."""
    value = _empty_to_none(value)
    if value is None or isinstance(value, dict | list):
        return value  # missing, or a hash/array: pydantic's own error, naming the parameter
    if isinstance(value, str) and _INTEGER.fullmatch(value) and len(value) <= 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParamValueError(
            codes.PARAMETER_INVALID_INTEGER, message=f"Invalid integer: {_shown(value)}"
        )
    if not INT64[0] <= value <= INT64[1]:
        raise ParamValueError(
            codes.PARAMETER_INVALID_INTEGER,
            message=f"Invalid integer: {_shown(value)} is out of range.",
        )
    return value


@dataclass(frozen=True, slots=True)
class Text:
    """A string parameter of at most `max_length` characters that a text column can hold.

    `""` reads as not given (Stripe's way of unsetting), unless `empty_is_none=False` (array
    items). The length is published as `maxLength` in the OpenAPI document.
    """

    max_length: int = MAX_STRING
    empty_is_none: bool = True

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["maxLength"] = self.max_length
        return json_schema

    def _check(self, value: Any) -> Any:
        if self.empty_is_none and value == "":
            return None
        if not isinstance(value, str):
            return value  # pydantic's own type error
        problem = text_problem(value)
        if problem is not None:
            raise ParamValueError(
                codes.PARAMETER_INVALID_STRING, message=f"Invalid {{param}}: it {problem}."
            )
        if len(value) > self.max_length:
            raise ParamValueError(
                codes.PARAMETER_INVALID_STRING,
                message=f"Invalid {{param}}: it must be at most {self.max_length} characters "
                f"(it has {len(value)}).",
            )
        return value


def _metadata(value: Any) -> Any:
    """Stripe metadata: ≤50 keys, keys ≤40 chars without brackets, values ≤500 chars.

    `""` for the whole hash unsets every key; `""` for one value unsets that key (kept here as
    an empty string for the merge to act on).
    """
    if value is None or value == "":
        return {} if value == "" else None
    if not isinstance(value, dict):
        raise ParamValueError(
            codes.PARAMETER_INVALID, message="Invalid metadata: must be a hash of keys to strings."
        )
    if len(value) > 50:
        raise ParamValueError(
            codes.PARAMETER_INVALID, message="Invalid metadata: at most 50 keys are allowed."
        )
    out: dict[str, str] = {}
    for key, item in value.items():
        key = str(key)
        if (problem := text_problem(key)) is not None:
            raise ParamValueError(
                codes.PARAMETER_INVALID,
                message=f"Invalid metadata key {printable(key)[:60]!r}: it {problem}.",
            )
        if not key or len(key) > 40 or "[" in key or "]" in key:
            raise ParamValueError(
                codes.PARAMETER_INVALID,
                message=f"Invalid metadata key {key[:60]!r}: keys are 1 to 40 characters without "
                "square brackets.",
            )
        if item is None:
            item = ""
        if isinstance(item, bool | dict | list):
            raise ParamValueError(
                codes.PARAMETER_INVALID, message=f"Invalid metadata[{key}]: values must be strings."
            )
        item = str(item)
        if (problem := text_problem(item)) is not None:
            raise ParamValueError(
                codes.PARAMETER_INVALID, message=f"Invalid metadata[{key}]: it {problem}."
            )
        if len(item) > 500:
            raise ParamValueError(
                codes.PARAMETER_INVALID,
                message=f"Invalid metadata[{key}]: values are at most 500 characters.",
            )
        out[key] = item
    return out


def _str_list(value: Any) -> Any:
    if value == "" or value is None:
        return []
    if isinstance(value, str):
        return [value]
    return value


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email_value(value: Any) -> Any:
    value = _empty_to_none(value)
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or len(value) > 254
        or text_problem(value) is not None
        or not _EMAIL.match(value)
    ):
        raise ParamValueError(
            codes.EMAIL_INVALID, message=f"Invalid email address: {str(value)[:80]}"
        )
    return value.strip()


OptStr = Annotated[str | None, Text()]
ReqStr = Annotated[str, Text()]
# Ids (and other tokens) the gateway issued: looked up, never stored from the request.
OptId = Annotated[str | None, Text(MAX_ID)]
ReqId = Annotated[str, Text(MAX_ID)]
EmptyIsMissing = BeforeValidator(_empty_to_none)
OptInt = Annotated[int | None, BeforeValidator(_strict_int)]
# Unix seconds, 1970 to 9999: anything else is a mistake, and would overflow a 64-bit column or
# a datetime (`created[gte]=10**30` must be a 400 naming the parameter, not a 500).
MAX_TIMESTAMP = 253_402_300_799
OptTimestamp = Annotated[
    Annotated[int, Field(ge=0, le=MAX_TIMESTAMP)] | None, BeforeValidator(_strict_int)
]
ReqInt = Annotated[int, BeforeValidator(_strict_int)]
OptBool = Annotated[bool | None, BeforeValidator(_empty_to_none)]
Metadata = Annotated[dict[str, str] | None, BeforeValidator(_metadata)]
StrList = Annotated[list[Annotated[str, Text(empty_is_none=False)]], BeforeValidator(_str_list)]
# 254: the longest address SMTP carries; the column is String(255).
Email = Annotated[str | None, BeforeValidator(email_value), Text(254)]


def merge_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict[str, str]:
    """Apply a metadata update: `{}` clears all, `""` values delete their key."""
    if update is None:
        return dict(current)
    if not update:
        return {}
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise codes.PARAMETER_INVALID(
            param="metadata", message="Invalid metadata: at most 50 keys are allowed."
        )
    return merged


class RangeFilter(BaseModel):
    """Stripe's range filter (`created[gte]=…`): unix seconds bounds."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gt: OptTimestamp = None
    gte: OptTimestamp = None
    lt: OptTimestamp = None
    lte: OptTimestamp = None
