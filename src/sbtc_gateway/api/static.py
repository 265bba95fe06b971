"""The built front end (`web/dist`), served by the `api` process: no CDN, no Node at run time.

`make setup` builds `web/` with Vite into `web/dist` (only when its sources changed). Files
are read once, at start, into memory (a few hundred KiB): content-hashed assets under
`/static/assets/` are cached for a year (`immutable`: a new build has new names); the HTML
pages and the widget's stable URL (`/v1/widget.js`) are revalidated with an ETag, so a new
build reaches browsers at once. Compression is the edge middleware's.

Pages are clients of the public `/v1` API and carry no data of their own, so the same HTML
serves every `/checkout/{payment_intent}`; the page reads the intent id from its path and the
client secret from its URL fragment, which the browser never sends to any server.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.responses import Response

from sbtc_gateway.api.routing import checked_routes
from sbtc_gateway.core import error_codes as codes

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
WIDGET_CACHE = "public, max-age=300, must-revalidate"
# The pages talk to this origin only; the checkout may be framed by any merchant's page (the
# widget's modal), the other pages by none. A merchant's logo is its own URL (img-src).
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data: https: http:; style-src 'self' 'unsafe-inline'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors {ancestors}"
)
PAGES = {"checkout": "checkout.html", "receipt": "receipt.html", "docs": "docs.html"}
WIDGET = "widget/widget.js"


def default_dist_dir() -> Path:
    """`web/dist` of the source tree this package runs from (an editable install)."""
    return Path(__file__).resolve().parents[3] / "web" / "dist"


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


class WebAssets:
    """The files of one build, by path relative to the dist folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, Asset] = {}
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    self.files[path.relative_to(root).as_posix()] = _asset(path)

    @property
    def built(self) -> bool:
        return all(page in self.files for page in PAGES.values())

    def get(self, name: str) -> Asset:
        asset = self.files.get(name)
        if asset is None:
            if not self.files:
                raise codes.WEB_ASSETS_MISSING(detail=str(self.root))
            raise codes.RESOURCE_MISSING(message=f"Unrecognized static file ({name}).")
        return asset


def _asset(path: Path) -> Asset:
    body = path.read_bytes()
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type in (
        "application/javascript",
        "text/javascript",
    ):
        media_type += "; charset=utf-8"
    return Asset(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def _send(
    request: Request, asset: Asset, cache: str, headers: dict[str, str] | None = None
) -> Response:
    sent = {"Cache-Control": cache, "ETag": asset.etag, "X-Content-Type-Options": "nosniff"}
    sent.update(headers or {})
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=sent)
    return Response(asset.body, media_type=asset.media_type, headers=sent)


def web_router(assets: WebAssets) -> APIRouter:
    router = APIRouter(tags=["Web"], route_class=checked_routes(intent_id="intent"))

    def page(request: Request, name: str, *, framable: bool = False) -> Response:
        csp = PAGE_CSP.format(ancestors="*" if framable else "'none'")
        headers = {"Content-Security-Policy": csp, "Referrer-Policy": "no-referrer"}
        if not framable:
            headers["X-Frame-Options"] = "DENY"
        return _send(request, assets.get(PAGES[name]), REVALIDATE, headers)

    @router.api_route("/checkout/{intent_id}", methods=["GET", "HEAD"], include_in_schema=False)
    async def checkout_page(intent_id: str, request: Request) -> Response:
        return page(request, "checkout", framable=True)

    @router.api_route("/receipts/{intent_id}", methods=["GET", "HEAD"], include_in_schema=False)
    async def receipt_page(intent_id: str, request: Request) -> Response:
        return page(request, "receipt")

    @router.api_route("/docs", methods=["GET", "HEAD"], include_in_schema=False)
    async def docs_page(request: Request) -> Response:
        return page(request, "docs")

    @router.api_route("/docs/errors", methods=["GET", "HEAD"], include_in_schema=False)
    async def errors_page(request: Request) -> Response:
        return page(request, "docs")

    @router.api_route("/v1/widget.js", methods=["GET", "HEAD"], include_in_schema=False)
    async def widget(request: Request) -> Response:
        headers = {
            "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin",
        }
        return _send(request, assets.get(WIDGET), WIDGET_CACHE, headers)

    @router.api_route("/static/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
    async def static(path: str, request: Request) -> Response:
        hashed = path.startswith("assets/")
        return _send(request, assets.get(path), IMMUTABLE if hashed else REVALIDATE)

    return router
