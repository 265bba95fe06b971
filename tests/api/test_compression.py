"""Brotli and gzip responses (`api/compression.py`)."""

from __future__ import annotations

import gzip

import brotli
import httpx

from tests.conftest import Merchant


async def test_brotli_and_gzip(client: httpx.AsyncClient, merchant: Merchant) -> None:
    for _ in range(3):
        await merchant.create_intent(description="x" * 200)
    for encoding, decode in (("br", brotli.decompress), ("gzip", gzip.decompress)):
        response = await client.get(
            "/v1/payment_intents",
            params={"limit": 3},
            headers={**merchant.headers(), "Accept-Encoding": encoding},
        )
        assert response.status_code == 200
        assert response.headers["Content-Encoding"] == encoding
        assert "Accept-Encoding" in response.headers["Vary"]
        # httpx decodes transparently; check the wire bytes too
        assert int(response.headers["Content-Length"]) < len(response.content)
        assert decode(await _raw(client, encoding, merchant)) == response.content
    small = await client.get("/health", headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in small.headers
    refused = await client.get(
        "/v1/payment_intents",
        headers={**merchant.headers(), "Accept-Encoding": "br;q=0, gzip;q=0"},
    )
    assert "Content-Encoding" not in refused.headers


async def _raw(client: httpx.AsyncClient, encoding: str, merchant: Merchant) -> bytes:
    request = client.build_request(
        "GET",
        "/v1/payment_intents",
        params={"limit": 3},
        headers={**merchant.headers(), "Accept-Encoding": encoding},
    )
    response = await client.send(request, stream=True)
    raw = b"".join([chunk async for chunk in response.aiter_raw()])
    await response.aclose()
    return raw
