"""`/v1/reporting/report_runs` (Stripe's shape) and `/v1/files/{id}` (+ `/contents`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response, StreamingResponse

from sbtc_gateway.api import openapi
from sbtc_gateway.api.auth import authorize
from sbtc_gateway.api.deps import gateway, parse
from sbtc_gateway.api.mutation import run_write
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.api.routing import checked_routes
from sbtc_gateway.core.origin import Origin
from sbtc_gateway.core.paging import list_envelope
from sbtc_gateway.reporting import service
from sbtc_gateway.reporting.reports import REPORT_TYPES
from sbtc_gateway.reporting.schemas import (
    FILE_FIELDS,
    RUN_FIELDS,
    ListParams,
    ReportRunCreateParams,
    RetrieveParams,
    render_file,
    render_run,
)
from sbtc_gateway.reporting.service import ReportSettings

router = APIRouter(tags=["Reporting"], route_class=checked_routes())
RUNS = "/v1/reporting/report_runs"
openapi.describe("ReportRun", RUN_FIELDS)
openapi.describe("File", FILE_FIELDS)


def _cfg(request: Request) -> ReportSettings:
    return gateway(request).get(ReportSettings)


@router.post(
    RUNS,
    summary="Ask for a report; the worker generates it (status pending → succeeded)",
    openapi_extra=openapi.body(ReportRunCreateParams),
    responses=openapi.responds("ReportRun", "The pending report run"),
)
async def create_report_run(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "reports:write")
    params, raw = await parse(request, ReportRunCreateParams)
    cfg = _cfg(request)

    async def handler(session: AsyncSession, origin: Origin) -> tuple[int, dict[str, Any]]:
        run = service.create(session, caller, params)
        await session.flush()
        return 200, render_run(run, None, cfg.base_url)

    return await run_write(request, gw, scope=caller.api_key_id, params=raw, handler=handler)


@router.get(
    RUNS,
    summary="List report runs, newest first",
    openapi_extra=openapi.query(ListParams),
    responses=openapi.responds("List", "A page of report runs"),
)
async def list_report_runs(request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "reports:read")
    params, _ = await parse(request, ListParams)
    async with gw.sessions() as session:
        items, has_more = await service.list_runs(session, caller, params)
    base = _cfg(request).base_url
    return json_response(list_envelope([render_run(r, f, base) for r, f in items], has_more, RUNS))


@router.get(
    RUNS + "/{run_id}",
    summary="Retrieve a report run (its `result` file once it succeeded)",
    openapi_extra=openapi.query(RetrieveParams),
    responses=openapi.responds("ReportRun", "The report run"),
)
async def retrieve_report_run(run_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "reports:read")
    await parse(request, RetrieveParams)
    async with gw.sessions() as session:
        run, file = await service.retrieve(session, caller, run_id)
    return json_response(render_run(run, file, _cfg(request).base_url))


@router.get(
    "/v1/reporting/report_types",
    summary="The report types this gateway generates",
    openapi_extra=openapi.query(RetrieveParams),
    responses=openapi.responds("List", "The report types"),
)
async def list_report_types(request: Request) -> Response:
    await authorize(request, gateway(request), "reports:read")
    await parse(request, RetrieveParams)
    data = [
        {"id": kind, "object": "reporting.report_type", "name": title, "version": 1,
         "default_columns": list(columns)}
        for kind, (title, columns, _) in sorted(REPORT_TYPES.items())
    ]  # fmt: skip
    return json_response(list_envelope(data, False, "/v1/reporting/report_types"))


@router.get(
    "/v1/files/{file_id}",
    summary="Retrieve a file (a report's result)",
    openapi_extra=openapi.query(RetrieveParams),
    responses=openapi.responds("File", "The file"),
)
async def retrieve_file(file_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "reports:read")
    await parse(request, RetrieveParams)
    async with gw.sessions() as session:
        found = await service.get_file(session, caller, file_id)
    return json_response(render_file(found, _cfg(request).base_url))


@router.get("/v1/files/{file_id}/contents", summary="Download a file's bytes")
async def file_contents(file_id: str, request: Request) -> Response:
    gw = gateway(request)
    caller = await authorize(request, gw, "reports:read")
    await parse(request, RetrieveParams)
    async with gw.sessions() as session:
        found = await service.get_file(session, caller, file_id)
    return StreamingResponse(
        _cfg(request).store.read(found.storage_key),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )
