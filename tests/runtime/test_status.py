"""The public status page: every component with a state, no authentication, nothing internal,
`down` when the database is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from sbtc_gateway.runtime.status import render_html
from tests.conftest import make_settings


async def test_status_json_and_page(client: httpx.AsyncClient) -> None:
    body = (await client.get("/status.json")).json()
    assert body["status"] in ("operational", "degraded")
    assert {"api", "database", "cache", "webhooks"} <= set(body["components"])
    assert body["components"]["database"] == "operational"
    for value in body["components"].values():
        assert value in ("operational", "degraded", "down", "unknown")
    page = await client.get("/status")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Database" in page.text
    assert "postgres" not in page.text.lower()  # no hosts or URLs of the components


async def test_a_database_that_is_down_shows(make_instance: Any, tmp_path: Path) -> None:
    url = "postgresql+asyncpg://nobody@127.0.0.1:9/none"  # nothing listens on port 9
    gateway = await make_instance(make_settings(url, tmp_path))
    body = (await gateway.client.get("/status.json")).json()
    assert body["status"] == "down"
    assert body["components"]["database"] == "down"
    assert body["components"]["api"] == "operational"


def test_the_page_escapes_what_it_shows() -> None:
    html = render_html({"status": "down", "updated": 0, "components": {"<x>": "down"}})
    assert "<x>" not in html
    assert "&lt;x&gt;" in html
