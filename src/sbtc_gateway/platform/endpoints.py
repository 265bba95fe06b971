"""`/v1/platform/analytics/realtime` and `/v1/platform/health`: the seed's getRealtimeMetrics
and getSystemHealth, across merchants, for platform operators only (their own tokens, from the
addresses in SBTC_PLATFORM_ALLOWED_IPS)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import Response

from sbtc_gateway.analytics import service as analytics
from sbtc_gateway.analytics.service import AnalyticsReader
from sbtc_gateway.api import openapi
from sbtc_gateway.api.client_ip import parse_networks
from sbtc_gateway.api.context import HttpContext
from sbtc_gateway.api.deps import gateway, parse
from sbtc_gateway.api.responses import json_response
from sbtc_gateway.api.routing import checked_routes
from sbtc_gateway.core import error_codes as codes
from sbtc_gateway.core.params import OptBool, Params, StrList
from sbtc_gateway.payments.service import PaymentSettings
from sbtc_gateway.platform import service
from sbtc_gateway.platform.models import PlatformOperator

router = APIRouter(prefix="/v1/platform", tags=["Platform"], route_class=checked_routes())
CHAIN_TIMEOUT_SECONDS = 3.0
# a worker more than this far behind its queues is `degraded`
STALE_SECONDS = 120
openapi.describe("PlatformRealtime", ["object", "livemode", "generated_at", "merchants", "windows"])
openapi.describe("PlatformHealth", ["object", "status", "generated_at", "services", "backlogs"])


class RealtimeParams(Params):
    livemode: OptBool = None
    expand: StrList = []


class HealthParams(Params):
    expand: StrList = []


async def authorize_operator(request: Request, gw: HttpContext) -> PlatformOperator:
    """The address first (nothing about tokens is said to a stranger), then the token."""
    import ipaddress

    ip = request.scope.get("state", {}).get("client_ip") or (
        request.client.host if request.client else ""
    )
    allowed = parse_networks(gw.settings.platform_allowed_ips)
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        raise codes.PLATFORM_IP_NOT_ALLOWED() from None
    if not any(address in network for network in allowed):
        raise codes.PLATFORM_IP_NOT_ALLOWED()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise codes.OPERATOR_TOKEN_INVALID()
    async with gw.sessions() as session:
        operator = await service.authenticate(session, gw.key_secret, token.strip())
    if operator is None:
        raise codes.OPERATOR_TOKEN_INVALID()
    return operator


@router.get(
    "/analytics/realtime",
    summary="The last 5 and 60 minutes across every merchant of a mode",
    openapi_extra=openapi.query(RealtimeParams),
    responses=openapi.responds("PlatformRealtime", "The platform's realtime windows"),
)
async def platform_realtime(request: Request) -> Response:
    gw = gateway(request)
    await authorize_operator(request, gw)
    params, _ = await parse(request, RealtimeParams)
    livemode = bool(params.livemode)
    now = int(time.time())
    windows, active = await analytics.realtime_windows(gw.get(AnalyticsReader), None, livemode, now)
    return json_response(
        {
            "object": "platform.realtime",
            "livemode": livemode,
            "generated_at": now,
            "merchants": active,
            "windows": windows,
        }
    )


async def _database(gw: HttpContext, reader: AnalyticsReader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sessions in (("database", gw.sessions), ("analytics_database", reader.sessions)):
        started = time.perf_counter()
        try:
            async with sessions() as session:
                await session.execute(text("SELECT 1"))
            out[name] = {
                "status": "up",
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            }
        except Exception as exc:  # what failed goes to the answer, the details to the log
            out[name] = {"status": "down", "error": type(exc).__name__}
    return out


async def _tip(cfg: PaymentSettings, network: str) -> int | None:
    if cfg.tips is None:
        return None
    try:
        return await asyncio.wait_for(cfg.tips.height(network), CHAIN_TIMEOUT_SECONDS)
    except Exception:  # an unreachable Stacks API: its status says so
        return None


@router.get(
    "/health",
    summary="Every service's status: databases, Redis, chain lag, webhook and analytics backlogs",
    openapi_extra=openapi.query(HealthParams),
    responses=openapi.responds("PlatformHealth", "The platform's health"),
)
async def platform_health(request: Request) -> Response:
    gw = gateway(request)
    await authorize_operator(request, gw)
    await parse(request, HealthParams)
    reader = gw.get(AnalyticsReader)
    services = await _database(gw, reader)
    async with gw.sessions() as session:
        backlogs = await service.backlogs(session)  # read, closed, then the chain is asked
    services["redis"] = {"status": await gw.shared.redis_status()}
    cfg = gw.get(PaymentSettings)
    networks = [gw.settings.test_network] + (["mainnet"] if gw.settings.live else [])
    for network in networks:
        tip = await _tip(cfg, network)
        height = backlogs["watcher"].get(network)
        lag = tip - height if tip is not None and height is not None else None
        status = "down" if tip is None else "behind" if lag is None or lag > 3 else "up"
        services[f"chain:{network}"] = {
            "status": status,
            "tip_height": tip,
            "watcher_height": height,
            "lag_blocks": lag,
        }
    stale = max(backlogs["webhooks"]["oldest_due_seconds"], backlogs["analytics"]["oldest_seconds"])
    services["worker"] = {"status": "degraded" if stale > STALE_SECONDS else "up"}
    services["api"] = {"status": "up"}
    bad = [s for s in services.values() if s["status"] in ("down", "degraded", "behind")]
    return json_response(
        {
            "object": "platform.health",
            "status": "degraded" if bad else "ok",
            "generated_at": int(time.time()),
            "services": services,
            "backlogs": backlogs,
        }
    )
