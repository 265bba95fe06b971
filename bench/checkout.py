"""Benchmark: the hosted checkout as a customer meets it, each figure beside a limit.

Starts its own devnet (on-demand mining) and a gateway (API, worker and watcher in one
process, as `dev` runs them) on a fresh SQLite database, drives Debian's Chromium with the
test wallet of the browser tests, and prints:

1. JavaScript: the gzipped bytes of the checkout's first load (entry + preloaded chunks)
   against the 150 KiB budget, and the wallet chunk loaded on "Pay";
2. time until usable: navigation → the "Pay with wallet" button on screen (the intent read
   from the API), p50/p99 over `--runs`, beside the same gateway's floor measured in this run
   (a page of the same build that makes no API call: /receipts without a link);
3. block → the page shows succeeded, p50/p99 over `--payments`, beside the limit measured in
   the same run: block → the API answers `succeeded` (the watcher's part) plus the page's
   poll interval while a payment is processing (1 s).

    python -m bench.checkout [--runs 20] [--payments 8] [--poll 0.5]     # or make bench-checkout
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sbtc_gateway.db.migrate import upgrade
from sbtc_gateway.devnet import DevnetProcess
from tests.api.test_static import BUDGET_GZIP_BYTES, first_load_scripts
from tests.chain_fixtures import prepare_chain_env
from tests.conftest import free_port, make_settings
from tests.web.conftest import (
    CHROMIUM,
    LAUNCH_ARGS,
    WALLET_INIT,
    WEB_DIST,
    GatewayServer,
    Shop,
    TestWallet,
)

PAGE_POLL_WHILE_PROCESSING = 1.0  # seconds: web/src/checkout/App.tsx


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def js_sizes() -> tuple[int, int]:
    html = (WEB_DIST / "checkout.html").read_text()
    first = sum(
        len(gzip.compress((WEB_DIST / s.removeprefix("/static/")).read_bytes(), 9))
        for s in first_load_scripts(html)
    )
    wallet = sum(len(gzip.compress(p.read_bytes(), 9)) for p in WEB_DIST.glob("assets/wallet-*.js"))
    return first, wallet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--payments", type=int, default=8)
    parser.add_argument("--poll", type=float, default=0.5, help="the watcher's poll interval")
    args = parser.parse_args()

    first, wallet = js_sizes()
    print(
        f"checkout JavaScript, first load: {first / 1024:.1f} KiB gzipped "
        f"(budget {BUDGET_GZIP_BYTES / 1024:.0f} KiB)"
    )
    print(f"wallet chunk (@stacks/connect request), loaded on Pay: {wallet / 1024:.1f} KiB gzipped")

    devnet = DevnetProcess(port=0, block_time_ms=0, burn_block_time_ms=0).start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-checkout-"))
    try:
        db = f"sqlite+aiosqlite:///{tmp / 'gateway.db'}"
        asyncio.run(upgrade(db))
        port = free_port()
        settings = make_settings(
            db,
            tmp,
            port=port,
            public_url=f"http://127.0.0.1:{port}",
            test_stacks_api_url=devnet.url,
            watcher_poll_interval_seconds=args.poll,
            intent_cache_seconds=0,
            log_level="WARNING",
        )
        env = asyncio.run(prepare_chain_env(settings.secret("gateway_signing_key"), devnet.url))
        with GatewayServer(settings, port) as server:
            run(server, env, args)
    finally:
        devnet.stop()


def run(server: GatewayServer, env: Any, args: argparse.Namespace) -> None:
    import httpx
    from playwright.sync_api import sync_playwright

    body = httpx.post(
        f"{server.url}/v1/merchants",
        data={
            "business_name": "Bench Shop",
            "email": "bench@example.com",
            "stacks_address": env.merchant,
        },
    ).json()
    shop = Shop(server.url, body["secret_key"], body["publishable_key"], body["id"])

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)

        def usable(url: str, selector: str) -> float:
            context = browser.new_context()
            page = context.new_page()
            page.goto(url, wait_until="commit")
            page.wait_for_selector(selector, timeout=30_000)
            ms: float = page.evaluate("() => performance.now()")
            context.close()
            return ms

        floor, ready = [], []
        for _ in range(args.runs):
            floor.append(
                usable(f"{server.url}/receipts/pi_0", "text=This receipt link is incomplete")
            )
            pi = shop.intent()
            link = f"{server.url}/checkout/{pi['id']}#{pi['client_secret']}"
            ready.append(usable(link, "button:has-text('Pay with wallet')"))
        print(
            f"time until usable: p50 {pct(ready, 0.5):.0f} ms, p99 {pct(ready, 0.99):.0f} ms "
            f"(floor, the same build without an API call: p50 {pct(floor, 0.5):.0f} ms, "
            f"p99 {pct(floor, 0.99):.0f} ms; {args.runs} loads)"
        )

        api_times, page_times = [], []
        for _ in range(args.payments):
            context = browser.new_context()
            wallet = TestWallet(env, env.payer_key, env.payer)
            context.expose_binding("__sbtcTestWallet", wallet.answer)
            context.add_init_script(WALLET_INIT)
            page = context.new_page()
            pi = shop.intent()
            page.goto(f"{server.url}/checkout/{pi['id']}#{pi['client_secret']}")
            page.get_by_role("button", name="Pay with wallet").click(timeout=30_000)
            deadline = time.monotonic() + 60
            # (waits through Playwright: the wallet's binding is answered while it pumps)
            while shop.status(pi["id"]) != "processing" and time.monotonic() < deadline:
                page.wait_for_timeout(50)
            paid = page.get_by_text("Paid — thank you")
            t0 = time.monotonic()
            env.mine()
            api_at = page_at = None
            while (api_at is None or page_at is None) and time.monotonic() - t0 < 60:
                if api_at is None and shop.status(pi["id"]) == "succeeded":
                    api_at = time.monotonic() - t0
                if page_at is None and paid.count() > 0:
                    page_at = time.monotonic() - t0
                page.wait_for_timeout(20)
            if api_at is None or page_at is None:
                raise SystemExit(
                    f"no success (api {api_at}, page {page_at}): {page.inner_text('main')}"
                )
            api_times.append(api_at)
            page_times.append(page_at)
            context.close()
        limit50 = pct(api_times, 0.5) + PAGE_POLL_WHILE_PROCESSING
        limit99 = pct(api_times, 0.99) + PAGE_POLL_WHILE_PROCESSING
        print(
            f"block → page shows succeeded: p50 {pct(page_times, 0.5) * 1000:.0f} ms, "
            f"p99 {pct(page_times, 0.99) * 1000:.0f} ms (limit: block → API succeeded "
            f"p50 {pct(api_times, 0.5) * 1000:.0f} ms / p99 {pct(api_times, 0.99) * 1000:.0f} ms "
            f"+ the page's {PAGE_POLL_WHILE_PROCESSING:.0f} s poll = {limit50 * 1000:.0f} / "
            f"{limit99 * 1000:.0f} ms; watcher poll {args.poll} s; {args.payments} payments; "
            f"mean {statistics.mean(page_times) * 1000:.0f} ms)"
        )
        browser.close()


if __name__ == "__main__":
    main()
