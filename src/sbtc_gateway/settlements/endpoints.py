"""`GET /v1/settlements` (JSON list) and `GET /v1/settlements/export` (CSV)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from starlette.responses import Response

from sbtc_gateway.api import openapi
from sbtc_gateway.api.auth import authorize
from sbtc_gateway.api.deps import gateway, parse
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.core.params import OptTimestamp, Params, RangeFilter, StrList
from sbtc_gateway.settlements import service

router = APIRouter(prefix="/v1/settlements", tags=["Settlements"])
BASE = "/v1/settlements"
openapi.describe(
    "Settlement",
    ["id", "object", "currency", "livemode", "period", "period_start", "period_end", "gross",
     "fees", "refunds", "reversals", "adjustments", "net", "count"],
)  # fmt: skip


class SettlementParams(Params):
    period: Literal["day", "month"] = "day"
    created: RangeFilter | OptTimestamp = None
    expand: StrList = []


def _range(params: SettlementParams) -> tuple[int | None, int | None]:
    created = params.created
    if created is None:
        return None, None
    if isinstance(created, int):
        return created, created + 1
    start = created.gte if created.gte is not None else created.gt
    if created.gt is not None and created.gte is None:
        start = created.gt + 1
    end = created.lt if created.lt is not None else created.lte
    if created.lte is not None and created.lt is None:
        end = created.lte + 1
    return start, end


async def _report(request: Request) -> list[service.Settlement]:
    gw = gateway(request)
    caller = await authorize(request, gw, "settlements:read")
    params, _ = await parse(request, SettlementParams)
    start, end = _range(params)
    async with gw.sessions() as session:
        return await service.report(session, caller, period=params.period, start=start, end=end)


@router.get(
    "",
    summary="Settlements per period: gross, fees, refunds, net, count (newest first)",
    openapi_extra=openapi.query(SettlementParams),
    responses=openapi.responds("List", "Settlements of the periods with activity"),
)
async def list_settlements(request: Request) -> Response:
    items = await _report(request)
    return json_response(
        {"object": "list", "data": [s.render() for s in items], "has_more": False, "url": BASE}
    )


@router.get(
    "/export",
    summary="The same settlements as CSV",
    openapi_extra=openapi.query(SettlementParams),
)
async def export_settlements(request: Request) -> Response:
    items = await _report(request)
    return Response(
        service.to_csv(items),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="settlements.csv"'},
    )
