"""One HTTP attempt: POST the exact signed bytes, no redirects, a timeout, a response cap."""

from __future__ import annotations

import asyncio
import time

import httpx

from sbtc_gateway import __version__
from sbtc_gateway.webhooks import signing, ssrf
from sbtc_gateway.webhooks.queue import Job, Outcome

SNIPPET_CHARS = 1000
USER_AGENT = f"sbtc-gateway/{__version__} (+webhooks)"


def make_client(concurrency: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,  # no proxies from the environment: the SSRF guard decides where we go
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    )


async def attempt(
    client: httpx.AsyncClient,
    job: Job,
    *,
    timeout_seconds: float,
    max_response_bytes: int,
    public_only: bool,
) -> Outcome:
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Stripe-Signature": signing.header(list(job.secrets), job.body),
    }
    try:
        async with asyncio.timeout(timeout_seconds):  # resolution, connection, request, response
            target = await ssrf.vet(job.url, require_https=job.livemode, public_only=public_only)
            extensions = {}
            if target.host_header:
                headers["Host"] = target.host_header
            if target.sni_hostname:
                extensions["sni_hostname"] = target.sni_hostname
            request = client.build_request(
                "POST",
                target.url,
                content=job.body,
                headers=headers,
                timeout=timeout_seconds,
                extensions=extensions,
            )
            response = await client.send(request, stream=True)
            try:
                snippet = await _read_capped(response, max_response_bytes)
            finally:
                await response.aclose()
    except ssrf.UrlRejected as exc:
        return Outcome(False, None, elapsed(), error=f"blocked: {exc}"[:255])
    except (TimeoutError, httpx.TimeoutException):
        return Outcome(False, None, elapsed(), error="timeout")
    except httpx.ConnectError as exc:
        return Outcome(False, None, elapsed(), error=f"connect_error: {exc}"[:255])
    except httpx.HTTPError as exc:
        return Outcome(False, None, elapsed(), error=f"{type(exc).__name__}: {exc}"[:255])
    except OSError as exc:
        return Outcome(False, None, elapsed(), error=f"os_error: {exc}"[:255])
    ok = 200 <= response.status_code < 300
    return Outcome(ok, response.status_code, elapsed(), snippet=snippet)


async def _read_capped(response: httpx.Response, limit: int) -> str:
    """Read at most `limit` bytes of the body (the rest is discarded with the connection)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    body = b"".join(chunks)[:limit]
    return body[: SNIPPET_CHARS * 4].decode("utf-8", "replace")[:SNIPPET_CHARS]
