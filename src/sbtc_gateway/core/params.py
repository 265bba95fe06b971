"""Reusable parameter types for request models (coercion from form strings included)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from .errors import ParameterError
from .text import printable, text_problem


class ParamValueError(ValueError):
    """A validation failure that carries a Stripe error code."""

    def __init__(self, message: str, code: str = "parameter_invalid") -> None:
        super().__init__(message)
        self.code = code


class Params(BaseModel):
    """Base for request parameter models: unknown parameters are errors, as in Stripe."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, frozen=True)


def _empty_to_none(value: Any) -> Any:
    return None if value == "" else value


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ParamValueError(f"Invalid integer: {value}", "parameter_invalid_integer")
    return _empty_to_none(value)


def _metadata(value: Any) -> Any:
    """Stripe metadata: ≤50 keys, keys ≤40 chars without brackets, values ≤500 chars.

    `""` for the whole hash unsets every key; `""` for one value unsets that key (kept here as
    an empty string for the merge to act on).
    """
    if value is None or value == "":
        return {} if value == "" else None
    if not isinstance(value, dict):
        raise ParamValueError("Invalid metadata: must be a hash of keys to strings.")
    if len(value) > 50:
        raise ParamValueError("Invalid metadata: at most 50 keys are allowed.")
    out: dict[str, str] = {}
    for key, item in value.items():
        key = str(key)
        if (problem := text_problem(key)) is not None:
            raise ParamValueError(f"Invalid metadata key {printable(key)[:60]!r}: it {problem}.")
        if not key or len(key) > 40 or "[" in key or "]" in key:
            raise ParamValueError(
                f"Invalid metadata key {key[:60]!r}: keys are 1 to 40 characters without "
                "square brackets."
            )
        if item is None:
            item = ""
        if isinstance(item, bool | dict | list):
            raise ParamValueError(f"Invalid metadata[{key}]: values must be strings.")
        item = str(item)
        if (problem := text_problem(item)) is not None:
            raise ParamValueError(f"Invalid metadata[{key}]: it {problem}.")
        if len(item) > 500:
            raise ParamValueError(f"Invalid metadata[{key}]: values are at most 500 characters.")
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
        raise ParamValueError(f"Invalid email address: {str(value)[:80]}", "email_invalid")
    return value.strip()


OptStr = Annotated[str | None, BeforeValidator(_empty_to_none)]
ReqStr = Annotated[str, BeforeValidator(_empty_to_none)]
EmptyIsMissing = BeforeValidator(_empty_to_none)
OptInt = Annotated[int | None, BeforeValidator(_no_bool)]
# Unix seconds, 1970 to 9999: anything else is a mistake, and would overflow a 64-bit column or
# a datetime (`created[gte]=10**30` must be a 400 naming the parameter, not a 500).
MAX_TIMESTAMP = 253_402_300_799
OptTimestamp = Annotated[
    Annotated[int, Field(ge=0, le=MAX_TIMESTAMP)] | None, BeforeValidator(_no_bool)
]
ReqInt = Annotated[int, BeforeValidator(_no_bool)]
OptBool = Annotated[bool | None, BeforeValidator(_empty_to_none)]
Metadata = Annotated[dict[str, str] | None, BeforeValidator(_metadata)]
StrList = Annotated[list[str], BeforeValidator(_str_list)]
Email = Annotated[str | None, BeforeValidator(email_value)]


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
        raise ParameterError("Invalid metadata: at most 50 keys are allowed.", param="metadata")
    return merged
