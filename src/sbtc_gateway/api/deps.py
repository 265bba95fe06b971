"""Helpers the thin endpoint modules share."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel

from sbtc_gateway.api.context import HttpContext
from sbtc_gateway.api.params import raw_params, validate

M = TypeVar("M", bound=BaseModel)


def gateway(request: Request) -> HttpContext:
    """The app's `HttpContext` (built by the composition root)."""
    ctx: HttpContext = request.app.state.http
    return ctx


async def parse(request: Request, model: type[M]) -> tuple[M, dict[str, Any]]:
    """Raw parameters (for the idempotency fingerprint) and the validated model."""
    raw = await raw_params(request, gateway(request).settings.max_body_bytes)
    return validate(model, raw), raw
