"""`sbtc-gateway listen`: stream a merchant's new events to a local URL, as `stripe listen` does.

It polls `GET /v1/events` with the merchant's secret key (no database access), signs each event
with a signing secret of its own (printed at start, stable per data directory) and POSTs it to the
`--forward-to` URL. A development tool: events are forwarded once, failures are printed, and
nothing is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import orjson

from sbtc_gateway.webhooks import signing


@dataclass
class ListenOptions:
    api_base: str
    api_key: str
    forward_to: str
    secret: str
    events: frozenset[str]
    poll_interval: float = 0.5
    timeout: float = 10.0


class Listener:
    def __init__(self, options: ListenOptions, echo: Callable[[str], None]) -> None:
        self.options = options
        self.echo = echo
        self.seen: set[str] = set()
        self.cursor: str | None = None
        self.forwarded = 0

    def wants(self, event_type: str) -> bool:
        return "*" in self.options.events or event_type in self.options.events

    async def run(self, stop: asyncio.Event) -> None:
        headers = {"Authorization": f"Bearer {self.options.api_key}"}
        async with (
            httpx.AsyncClient(
                base_url=self.options.api_base, headers=headers, timeout=self.options.timeout
            ) as api,
            httpx.AsyncClient(
                follow_redirects=False, trust_env=False, timeout=self.options.timeout
            ) as out,
        ):
            latest = await api.get("/v1/events", params={"limit": 1})
            latest.raise_for_status()
            data = latest.json()["data"]
            self.cursor = data[0]["id"] if data else None
            while not stop.is_set():
                try:
                    await self.poll(api, out)
                except httpx.HTTPError as exc:
                    self.echo(f"  ! could not reach the gateway: {exc}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.options.poll_interval)

    async def poll(self, api: httpx.AsyncClient, out: httpx.AsyncClient) -> None:
        while True:
            params: dict[str, str | int] = {"limit": 100}
            if self.cursor:
                params["ending_before"] = self.cursor
            response = await api.get("/v1/events", params=params)
            response.raise_for_status()
            page = response.json()
            events = list(reversed(page["data"]))  # oldest first
            for event in events:
                if event["id"] in self.seen:
                    continue
                self.seen.add(event["id"])
                if self.wants(event["type"]):
                    await self.forward(out, event)
            if events:
                self.cursor = events[-1]["id"]
            if not page["has_more"] or not self.cursor:
                return

    async def forward(self, out: httpx.AsyncClient, event: dict[str, object]) -> None:
        body = orjson.dumps(event)
        header = signing.header([self.options.secret], body)
        self.echo(f"{time.strftime('%H:%M:%S')}  --> {event['type']} [{event['id']}]")
        try:
            response = await out.post(
                self.options.forward_to,
                content=body,
                headers={"Content-Type": "application/json", "Stripe-Signature": header},
            )
            status = str(response.status_code)
        except httpx.HTTPError as exc:
            status = f"error: {type(exc).__name__}"
        self.forwarded += 1
        self.echo(
            f"{time.strftime('%H:%M:%S')}  <-- [{status}] POST {self.options.forward_to} "
            f"[{event['id']}]"
        )
