"""Errors with a stable code and an HTTP status, rendered by one handler in Stripe's envelope.

Every error the gateway answers is an `ErrorCode` in the catalogue (`core/error_codes.py`);
calling the entry builds the exception: `raise codes.AMOUNT_TOO_SMALL(param="amount",
minimum=100)`. The Stripe SDKs pick their exception class from the HTTP status (and `type` for
idempotency), so the status belongs to the code, not to the place that raises it.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# Every error's `doc_url` points at the page this gateway serves (`/docs/errors`, rendered
# from the catalogue); the composition root sets the base to the gateway's public URL.
DOCS_PATH = "/docs/errors"
_docs_base = {"url": "http://127.0.0.1:8000"}


def set_docs_base(base_url: str) -> None:
    """Where `doc_url`s point: the gateway's public URL (`SBTC_PUBLIC_URL`, or its address)."""
    _docs_base["url"] = base_url.rstrip("/")


def docs_url() -> str:
    return _docs_base["url"] + DOCS_PATH


ErrorType = Literal["invalid_request_error", "api_error", "idempotency_error", "card_error"]


@dataclass(frozen=True)
class ErrorCode:
    """One entry of the catalogue: what the gateway answers, and what the portal says about it.

    `message` is a `str.format` template; `param=` fills a `{param}` placeholder as well as the
    envelope's `param`. `validation` marks input that failed checking before anything ran: the
    idempotency layer stores nothing for those, so a corrected retry with the same key works.
    """

    code: str
    status: int
    message: str
    explanation: str
    type: ErrorType = "invalid_request_error"
    validation: bool = False
    anchor: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.anchor:
            object.__setattr__(self, "anchor", self.code)

    @property
    def doc_url(self) -> str:
        return f"{docs_url()}#{self.anchor}"

    @property
    def placeholders(self) -> tuple[str, ...]:
        names = (name for _, name, _, _ in string.Formatter().parse(self.message) if name)
        return tuple(dict.fromkeys(names))

    def render(self, **values: object) -> str:
        return self.message.format_map(values)

    def __call__(
        self,
        *,
        param: str | None = None,
        message: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **values: object,
    ) -> GatewayError:
        """The exception to raise. `message=` replaces the template where one wire code covers
        several sentences (`parameter_invalid` names many rules, and its messages predate the
        catalogue) or the text comes from elsewhere (a parser's own diagnosis)."""
        if message is None:
            message = self.render(**({"param": param, **values} if param is not None else values))
        return _class_for(self)(self, message, param=param, extra=extra, headers=headers)


class GatewayError(Exception):
    """An error answered in Stripe's envelope; built by calling its `ErrorCode`."""

    def __init__(
        self,
        error: ErrorCode,
        message: str,
        *,
        param: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
        self.param = param
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    @property
    def code(self) -> str:
        return self.error.code

    @property
    def status(self) -> int:
        return self.error.status

    @property
    def type(self) -> ErrorType:
        return self.error.type

    @property
    def is_validation_failure(self) -> bool:
        return self.error.validation

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "message": self.message,
            "code": self.code,
            "param": self.param,
            "doc_url": self.error.doc_url,
        }
        body.update(self.extra)
        return {"error": body}


# The classes exist for `except` clauses (the watcher skips a NotFoundError; the write path
# treats conflicts and idempotency errors apart); which one an entry builds follows its status.
class InvalidRequestError(GatewayError):
    pass


class ParameterError(InvalidRequestError):
    """Input that failed validation (`ErrorCode.validation`)."""


class NotFoundError(GatewayError):
    pass


class AuthenticationError(GatewayError):
    pass


class PermissionDeniedError(GatewayError):
    pass


class IdempotencyError(GatewayError):
    pass


class ConflictError(GatewayError):
    """Another request is working on the same thing; the SDKs retry 409s."""


class ApiError(GatewayError):
    """The gateway (or what it depends on) failed; the SDKs retry 5xx."""


_BY_STATUS: dict[int, type[GatewayError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
}


def _class_for(error: ErrorCode) -> type[GatewayError]:
    if error.type == "idempotency_error":
        return IdempotencyError
    if error.status >= 500:
        return ApiError
    if error.status in _BY_STATUS:
        return _BY_STATUS[error.status]
    return ParameterError if error.validation else InvalidRequestError
