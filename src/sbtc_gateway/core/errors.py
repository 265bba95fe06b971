"""Errors with a stable code and an HTTP status, rendered by one handler in Stripe's envelope.

The Stripe SDKs pick their exception class from the HTTP status (and `type` for idempotency), so
the status is part of each error's contract, not a detail of the handler.
"""

from __future__ import annotations

from typing import Any

# Codes whose requests are "validation failures": the idempotency layer stores nothing for them.
PARAMETER_CODES = frozenset(
    {
        "parameter_unknown",
        "parameter_missing",
        "parameter_invalid_integer",
        "parameter_invalid_empty",
        "parameter_invalid_string",
        "parameter_invalid_boolean",
        "parameter_invalid",
        "amount_too_small",
        "amount_too_large",
        "invalid_stacks_address",
        "email_invalid",
        "metadata_invalid",
        "url_invalid",
        "parameters_exclusive",
    }
)


class GatewayError(Exception):
    status: int = 400
    type: str = "invalid_request_error"
    default_code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.param = param
        if status is not None:
            self.status = status
        self.extra = extra or {}
        self.headers = headers or {}

    @property
    def is_validation_failure(self) -> bool:
        return self.code in PARAMETER_CODES

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "message": self.message,
            "code": self.code,
            "param": self.param,
            "doc_url": f"https://docs.sbtc-gateway.dev/errors#{self.code}" if self.code else None,
        }
        body.update(self.extra)
        return {"error": body}


class InvalidRequestError(GatewayError):
    status = 400


class ParameterError(InvalidRequestError):
    """Bad input: always names the offending parameter."""

    def __init__(self, message: str, *, param: str, code: str = "parameter_invalid") -> None:
        super().__init__(message, code=code, param=param)


class NotFoundError(GatewayError):
    status = 404
    default_code = "resource_missing"


class AuthenticationError(GatewayError):
    status = 401
    default_code = "api_key_invalid"


class PermissionDeniedError(GatewayError):
    status = 403
    default_code = "permission_denied"


class StateError(InvalidRequestError):
    """An operation that the object's current status does not allow."""

    default_code = "payment_intent_unexpected_state"


class IdempotencyError(GatewayError):
    status = 400
    type = "idempotency_error"
    default_code = "idempotency_key_in_use"


class ConflictError(GatewayError):
    """Another request is working on the same thing; the SDKs retry 409s."""

    status = 409
    type = "invalid_request_error"
    default_code = "lock_timeout"


class PayloadTooLargeError(GatewayError):
    status = 413
    default_code = "request_too_large"


class ClientClosedRequestError(GatewayError):
    """The client went away before sending its whole body (nginx's 499): nothing was done, and
    nobody reads the answer. Not a server error, so it neither pages anyone nor logs a trace."""

    status = 499
    default_code = "client_closed_request"


class ApiError(GatewayError):
    status = 500
    type = "api_error"
    default_code = "api_error"
