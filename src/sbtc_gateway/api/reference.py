"""The error catalogue as data: `GET /v1/error_codes`, what the docs page at `/docs/errors`
renders and every error's `doc_url` points into. Public: it describes the API, not an account.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from sbtc_gateway.api import openapi
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.core.error_codes import catalogue

router = APIRouter(tags=["Reference"])
openapi.describe(
    "ErrorCode",
    ["code", "status", "type", "message", "doc_url", "explanation", "validation", "placeholders"],
)


@router.get(
    "/v1/error_codes",
    summary="Every error code the gateway answers, with its HTTP status, `type`, message "
    "template and what it means (no key needed)",
    responses=openapi.responds("List", "A list of ErrorCode objects"),
)
async def error_codes() -> Response:
    body = {"object": "list", "data": catalogue(), "has_more": False, "url": "/v1/error_codes"}
    return json_response(body, headers={"Cache-Control": "public, max-age=300"})
