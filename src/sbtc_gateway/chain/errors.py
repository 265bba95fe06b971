"""Errors raised by the chain toolkit.

The client's errors separate three outcomes a caller must treat differently:

* :class:`TransactionRejectedError` — the node looked at the transaction and refused it. Definite:
  nothing was (or will be) mined from that broadcast.
* :class:`BroadcastOutcomeUnknownError` — the request may have reached the node (a timeout or a
  5xx after sending). Not a failure: follow the txid until it is seen or provably dropped.
* :class:`ApiUnavailableError` — a read could not be answered (retries exhausted, circuit open).
  An outage, never evidence that a payment failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ChainError(Exception):
    """Base class of every error raised by ``sbtc_gateway.chain``."""


class ClarityError(ChainError, ValueError):
    """A Clarity value is invalid, or bytes are not a valid serialized Clarity value."""


class TransactionError(ChainError, ValueError):
    """A transaction is malformed, or bytes are not a valid serialized transaction."""


class SignatureError(ChainError):
    """A signature is missing, malformed or does not match its signer."""


class StacksApiError(ChainError):
    """Base class of errors from the Stacks node RPC / Hiro API client."""

    def __init__(self, message: str, *, status: int | None = None, path: str | None = None):
        super().__init__(message)
        self.status = status
        self.path = path


class ApiRequestError(StacksApiError):
    """The API refused the request itself (a 4xx other than 404/429): retrying will not help."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        path: str | None = None,
        body: Any = None,
    ):
        super().__init__(message, status=status, path=path)
        self.body = body


class NotFoundError(StacksApiError):
    """The API answered 404 for this resource."""


class ApiUnavailableError(StacksApiError):
    """No usable answer (timeouts, 5xx, 429 after retries). The outcome is unknown, not failed."""


class CircuitOpenError(ApiUnavailableError):
    """The circuit breaker is open: the API failed repeatedly, so calls fail fast for a while."""


class ReadOnlyCallError(StacksApiError):
    """A read-only call ran but the node reported ``okay: false`` (its ``cause`` is attached)."""

    def __init__(self, cause: str, *, path: str | None = None):
        super().__init__(f"read-only call failed: {cause}", status=200, path=path)
        self.cause = cause


class TransactionRejectedError(StacksApiError):
    """The node rejected a broadcast transaction (definite: it is not in the mempool)."""

    def __init__(
        self,
        reason: str,
        *,
        txid: str | None = None,
        reason_data: Mapping[str, Any] | None = None,
        status: int | None = 400,
        path: str | None = None,
    ):
        super().__init__(f"transaction rejected: {reason}", status=status, path=path)
        self.reason = reason
        self.txid = txid
        self.reason_data: Mapping[str, Any] = dict(reason_data or {})

    @property
    def is_bad_nonce(self) -> bool:
        return self.reason == "BadNonce"


class BroadcastOutcomeUnknownError(StacksApiError):
    """A broadcast may or may not have reached the node. Follow ``txid``; do not treat as failed."""

    def __init__(self, txid: str, message: str, *, status: int | None = None):
        super().__init__(message, status=status, path="/v2/transactions")
        self.txid = txid


class MonitorTimeoutError(ChainError):
    """A transaction did not reach a final status within the allotted polls. Unknown, not failed."""

    def __init__(self, txid: str, last_status: str | None):
        super().__init__(f"transaction {txid} not final yet (last status: {last_status})")
        self.txid = txid
        self.last_status = last_status
