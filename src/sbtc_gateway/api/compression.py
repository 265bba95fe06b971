"""Brotli or gzip for responses of at least `minimum_size` bytes (pure ASGI).

Our responses are single-message JSON, so the body is compressed in one go; a streamed response
(more than one body message) passes through untouched. Brotli is preferred when the client
accepts both (smaller at a similar cost at quality 4).
"""

from __future__ import annotations

import gzip

import brotli
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def choose_encoding(accept: str) -> str | None:
    offered: dict[str, float] = {}
    for part in accept.split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        offered[name.strip().lower()] = q
    for encoding in ("br", "gzip"):
        if offered.get(encoding, offered.get("*", 0.0)) > 0:
            return encoding
    return None


class CompressionMiddleware:
    def __init__(self, app: ASGIApp, minimum_size: int = 1024) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accept = b""
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept = value
                break
        encoding = choose_encoding(accept.decode("latin-1")) if accept else None
        if encoding is None:
            await self.app(scope, receive, send)
            return
        held: Message | None = None

        async def compressing_send(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                held = message
                return
            if message["type"] != "http.response.body" or held is None:
                await send(message)
                return
            start, held = held, None
            body: bytes = message.get("body", b"")
            headers = MutableHeaders(raw=start.setdefault("headers", []))
            headers.add_vary_header("Accept-Encoding")
            if (
                message.get("more_body", False)
                or len(body) < self.minimum_size
                or "content-encoding" in headers
            ):
                await send(start)
                await send(message)
                return
            if encoding == "br":
                compressed = brotli.compress(body, quality=4)
            else:
                compressed = gzip.compress(body, compresslevel=6)
            headers["Content-Encoding"] = encoding
            headers["Content-Length"] = str(len(compressed))
            await send(start)
            await send({"type": "http.response.body", "body": compressed})

        await self.app(scope, receive, compressing_send)
