"""The public status page: `/status` (HTML) and `/status.json`, the seed's StatusPage line.

Each component is `operational`, `degraded` or `down`, from what `/ready` checks (the database,
Redis, each network's Stacks API) plus webhook delivery (deliveries overdue by more than a
minute: a backlog) and the chain watcher (how far its cursor is behind the tip). Nothing
internal is shown: no host, no error text, no counts beyond the backlog's order of magnitude.
The answer is computed at most every few seconds per replica, so the public cannot turn the
page into database load.
"""

from __future__ import annotations

import html
import time
from typing import Any

from sqlalchemy import func, select

from sbtc_gateway.chainstate.models import ChainCursor
from sbtc_gateway.core.ttlcache import TTLCache
from sbtc_gateway.runtime.container import Gateway
from sbtc_gateway.runtime.readiness import readiness
from sbtc_gateway.webhooks.models import WebhookDelivery

CACHE_SECONDS = 5.0
BACKLOG_DEGRADED = 1000
WATCHER_LAG_DEGRADED = 6  # blocks, as the ChainWatcherLagging alert


def _state(ok: bool | None, degraded: bool = False) -> str:
    if ok is None:
        return "unknown"
    if not ok:
        return "down"
    return "degraded" if degraded else "operational"


async def _backlog_and_cursors(state: Gateway) -> tuple[int, dict[str, int]]:
    overdue_before = int(time.time() * 1000) - 60_000
    async with state.sessions() as session:
        backlog = (
            await session.execute(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.status == "pending")
                .where(WebhookDelivery.next_attempt_ms < overdue_before)
            )
        ).scalar_one()
        cursors = {
            c.network: c.height for c in (await session.execute(select(ChainCursor))).scalars()
        }
    return int(backlog), cursors


async def compute(state: Gateway) -> dict[str, Any]:
    code, ready = await readiness(state)
    database_up = code == 200
    components: dict[str, str] = {
        "api": "operational",
        "database": _state(database_up),
        "cache": _state(ready["redis"] != "down")
        if ready["redis"] != "disabled"
        else "operational",
    }
    backlog, cursors = 0, dict[str, int]()
    if database_up:
        backlog, cursors = await _backlog_and_cursors(state)
    components["webhooks"] = _state(database_up, degraded=backlog > BACKLOG_DEGRADED)
    for network, chain in ready["chain"].items():
        if chain["status"] == "disabled":
            continue
        up = chain["status"] == "up"
        components[f"chain_api_{network}"] = _state(up)
        behind = None
        if up and network in cursors:
            behind = int(chain["tip_height"]) - cursors[network]
        components[f"chain_watcher_{network}"] = _state(
            None if behind is None else True, degraded=(behind or 0) > WATCHER_LAG_DEGRADED
        )
    # as /ready: without the database nothing works; any other part down is a degradation
    if not database_up:
        overall = "down"
    elif any(v in ("down", "degraded") for v in components.values()):
        overall = "degraded"
    else:
        overall = "operational"
    return {"status": overall, "components": components, "updated": int(time.time())}


class StatusPage:
    """One per app: the last answer, kept CACHE_SECONDS."""

    def __init__(self) -> None:
        self.cache: TTLCache[str, dict[str, Any]] = TTLCache(CACHE_SECONDS, 1)

    async def get(self, state: Gateway) -> dict[str, Any]:
        hit, cached = self.cache.get("status")
        if hit and cached is not None:
            return cached
        body = await compute(state)
        self.cache.set("status", body)
        return body


LABELS = {"api": "API", "database": "Database", "cache": "Cache (rate limits, sessions)",
          "webhooks": "Webhook delivery"}  # fmt: skip


def render_html(body: dict[str, Any]) -> str:
    rows = []
    for name, value in body["components"].items():
        label = LABELS.get(name) or name.replace("_", " ").capitalize()
        rows.append(
            f'<tr><td>{html.escape(label)}</td><td class="{value}">{html.escape(value)}</td></tr>'
        )
    updated = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(body["updated"]))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sBTC gateway status</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}
td{{padding:.4rem 1rem .4rem 0}}.operational{{color:#137333}}.degraded{{color:#b06000}}
.down{{color:#c5221f}}.unknown{{color:#5f6368}}</style></head>
<body><h1>sBTC gateway: <span class="{body["status"]}">{html.escape(body["status"])}</span></h1>
<table>{"".join(rows)}</table><p>Updated {updated}. Also as <a href="/status.json">JSON</a>.</p>
</body></html>
"""
