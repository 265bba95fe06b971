"""The built front end as the gateway serves it: cache headers, the widget's stable URL, the
pages' security headers, the JavaScript budget of the checkout's first load, and what a
gateway without a build answers. No browser: the ASGI app on SQLite."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import pytest

from sbtc_gateway.api.static import WebAssets
from tests.conftest import IN_CI, make_settings

DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
BUDGET_GZIP_BYTES = 150 * 1024  # the checkout's first load, all JavaScript, gzipped

# `make test` builds web/ first; a run outside it may skip, CI may not
pytestmark = pytest.mark.skipif(
    not IN_CI and not (DIST / "checkout.html").exists(), reason="web/dist is not built (make setup)"
)


def first_load_scripts(html: str) -> list[str]:
    """The JavaScript a browser fetches before the page is usable: the entry module and the
    chunks it preloads. Dynamic imports (the wallet) are not among them."""
    found = re.findall(r'<script[^>]+src="([^"]+)"', html)
    found += re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="([^"]+)"', html)
    found += re.findall(r'<link[^>]+href="([^"]+)"[^>]+rel="modulepreload"', html)
    return sorted(set(found))


def gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def test_the_checkouts_first_load_is_within_the_javascript_budget() -> None:
    html = (DIST / "checkout.html").read_text()
    scripts = first_load_scripts(html)
    assert scripts, html
    assert all(s.startswith("/static/assets/") for s in scripts), scripts  # nothing from a CDN
    total = sum(gzip_size(DIST / s.removeprefix("/static/")) for s in scripts)
    assert total <= BUDGET_GZIP_BYTES, (total, scripts)
    # the wallet (@stacks/connect and its picker) is a chunk of its own, not loaded up front
    wallet = [p for p in (DIST / "assets").glob("wallet-*.js")]
    assert wallet
    assert all(f"/static/assets/{w.name}" not in scripts for w in wallet)
    assert all(
        "@stacks/connect" not in (DIST / s.removeprefix("/static/")).read_text() for s in scripts
    )


async def test_assets_are_cached_for_a_year_and_pages_revalidated(
    sqlite_settings: Any, make_instance: Any
) -> None:
    gw = await make_instance(sqlite_settings)
    page = await gw.client.get("/checkout/pi_01ABCDEFGHJKMNPQRSTVWXYZ12")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "connect-src 'self'" in csp
    assert "frame-ancestors *" in csp  # the widget frames it on merchants' pages
    assert page.headers["referrer-policy"] == "no-referrer"
    head = await gw.client.head("/checkout/pi_01ABCDEFGHJKMNPQRSTVWXYZ12")
    assert head.status_code == 200
    assert head.headers["etag"] == page.headers["etag"]
    for src in first_load_scripts(page.text):
        asset = await gw.client.get(src)
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert "javascript" in asset.headers["content-type"]
    # other pages may not be framed
    docs = await gw.client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert (await gw.client.get("/receipts/pi_01ABCDEFGHJKMNPQRSTVWXYZ12")).status_code == 200
    missing = await gw.client.get("/static/assets/nothing-here.js")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "resource_missing"


async def test_the_widget_has_a_stable_url_revalidated_by_etag(
    sqlite_settings: Any, make_instance: Any
) -> None:
    gw = await make_instance(sqlite_settings)
    widget = await gw.client.get("/v1/widget.js")
    assert widget.status_code == 200
    assert "javascript" in widget.headers["content-type"]
    assert widget.headers["cache-control"] == "public, max-age=300, must-revalidate"
    assert widget.headers["access-control-allow-origin"] == "*"
    assert "sbtc-checkout" in widget.text
    again = await gw.client.get("/v1/widget.js", headers={"If-None-Match": widget.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


async def test_the_error_catalogue_is_served_and_doc_urls_point_at_its_page(
    sqlite_settings: Any, make_instance: Any
) -> None:
    gw = await make_instance(sqlite_settings)
    catalogue = (await gw.client.get("/v1/error_codes")).json()
    assert catalogue["object"] == "list"
    codes = {entry["code"]: entry for entry in catalogue["data"]}
    assert codes["web_assets_missing"]["status"] == 503
    error = (await gw.client.get("/v1/payment_intents")).json()["error"]
    assert error["doc_url"] == f"{sqlite_settings.base_url}/docs/errors#{error['code']}"
    assert error["doc_url"] == codes[error["code"]]["doc_url"]
    # the OpenAPI document describes the new endpoints
    spec = (await gw.client.get("/openapi.json")).json()
    for path in ("checkout", "receipt", "payer_balance"):
        assert f"/v1/payment_intents/{{intent_id}}/{path}" in spec["paths"]
    assert "/v1/error_codes" in spec["paths"]


async def test_a_gateway_without_a_build_says_so(
    sqlite_settings: Any, make_instance: Any, tmp_path: Path
) -> None:
    settings = make_settings(
        sqlite_settings.database_url, tmp_path, web_dist_dir=tmp_path / "no-build"
    )
    gw = await make_instance(settings)
    response = await gw.client.get("/checkout/pi_01ABCDEFGHJKMNPQRSTVWXYZ12")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "web_assets_missing"
    assert (await gw.client.get("/health")).status_code == 200  # the API itself works


def test_a_build_is_read_once_with_hashed_names() -> None:
    assets = WebAssets(DIST)
    assert assets.built
    hashed = [name for name in assets.files if name.startswith("assets/")]
    assert hashed
    assert all(
        re.search(r"-[A-Za-z0-9_-]{8}\.(js|css)$", n) for n in hashed if n.endswith((".js", ".css"))
    )
