"""Reusable parameter types for request models (coercion from form strings included)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from . import error_codes as codes
from .errors import ErrorCode


class ParamValueError(ValueError):
    """A validation failure inside a pydantic validator (which only turns `ValueError`s into
    validation errors): `api.params` raises its entry once the parameter's path is known."""

    def __init__(self, error: ErrorCode, *, message: str | None = None, **values: object) -> None:
        super().__init__(message if message is not None else error.render(**values))
        self.error = error


class Params(BaseModel):
    """Base for request parameter models: unknown parameters are errors, as in Stripe."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, frozen=True)


def _empty_to_none(value: Any) -> Any:
    return None if value == "" else value


def _no_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ParamValueError(codes.PARAMETER_INVALID_INTEGER, value=value)
    return _empty_to_none(value)


def _metadata(value: Any) -> Any:
    """Stripe metadata: ≤50 keys, keys ≤40 chars without brackets, values ≤500 chars.

    `""` for the whole hash unsets every key; `""` for one value unsets that key (kept here as
    an empty string for the merge to act on).
    """
    if value is None or value == "":
        return {} if value == "" else None
    if not isinstance(value, dict):
        raise ParamValueError(
            codes.PARAMETER_INVALID, param="metadata", reason="must be a hash of keys to strings"
        )
    if len(value) > 50:
        raise ParamValueError(
            codes.PARAMETER_INVALID, param="metadata", reason="at most 50 keys are allowed"
        )
    out: dict[str, str] = {}
    for key, item in value.items():
        key = str(key)
        if not key or len(key) > 40 or "[" in key or "]" in key:
            raise ParamValueError(
                codes.PARAMETER_INVALID,
                message=f"Invalid metadata key {key[:60]!r}: keys are 1 to 40 characters "
                "without square brackets.",
            )
        if item is None:
            item = ""
        if isinstance(item, bool | dict | list):
            raise ParamValueError(
                codes.PARAMETER_INVALID, param=f"metadata[{key}]", reason="values must be strings"
            )
        item = str(item)
        if len(item) > 500:
            raise ParamValueError(
                codes.PARAMETER_INVALID,
                param=f"metadata[{key}]",
                reason="values are at most 500 characters",
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
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.match(value):
        raise ParamValueError(codes.EMAIL_INVALID, value=str(value)[:80])
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
        raise codes.PARAMETER_INVALID(param="metadata", reason="at most 50 keys are allowed")
    return merged


class RangeFilter(BaseModel):
    """Stripe's range filter (`created[gte]=…`): unix seconds bounds."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gt: OptTimestamp = None
    gte: OptTimestamp = None
    lt: OptTimestamp = None
    lte: OptTimestamp = None
