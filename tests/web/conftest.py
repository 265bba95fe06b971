"""Browser fixtures: a running gateway (API, worker and watcher in one process, as `dev` runs
them) on SQLite and the run's devnet, an SMTP server, headless Debian Chromium through
Playwright, and a test wallet injected into every page and frame.

Browser tests run once, on one database (`pytest.mark.browser`): what they check is the page,
not the storage, which the API suites cover on both databases. Chromium comes from Debian
(`scripts/ensure-debian-tool chromium`, run by `make test`); nothing downloads a browser.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from sbtc_gateway.config import Settings
from sbtc_gateway.db.migrate import upgrade
from sbtc_gateway.runtime.app import create_app
from tests.chain_fixtures import ChainEnv, devnet_url, prepare_chain_env
from tests.conftest import free_port, make_settings

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
# Every run takes the screenshots (look at them: var/screenshots/); UPDATE_SCREENSHOTS=1
# writes them over the committed ones in docs/screenshots/ instead.
_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = (
    _ROOT / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else _ROOT / "var" / "screenshots"
)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}


def run_async(make: Callable[[], Any]) -> Any:
    """Run a coroutine to completion in a thread of its own: Playwright's sync API keeps an
    event loop running in the test's thread, where `asyncio.run` is refused."""
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(make()))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (scripts/ensure-debian-tool chromium)"
    if not (WEB_DIST / "checkout.html").exists():
        return "web/dist is not built (make setup)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is missing (make setup)"
    return None


BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.devnet,
    pytest.mark.skipif("not os.environ.get('STACKS_DEVNET_URL')", reason="no devnet"),
    pytest.mark.skipif(_browser_missing() is not None, reason=str(_browser_missing())),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is missing"),
]


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a loopback port that keeps every message."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                from email import message_from_bytes, policy

                sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, address: str) -> list[Any]:
        return [m for m in self.messages if m["To"] == address]


class GatewayServer:
    """`create_app(..., background_tasks=True)` under uvicorn in a thread: the API, the
    worker's jobs and the chain watcher, as `sbtc-gateway dev` runs them."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.settings = settings
        self.app = create_app(settings, background_tasks=True)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> GatewayServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the gateway did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    yield sink
    sink.controller.stop()


@pytest.fixture(scope="session")
def web_settings(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpSink) -> Settings:
    path = tmp_path_factory.mktemp("web") / "gateway.db"
    url = f"sqlite+aiosqlite:///{path}"
    run_async(lambda: upgrade(url))
    port = free_port()
    return make_settings(
        url,
        tmp_path_factory.mktemp("web-data"),
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        test_stacks_api_url=devnet_url(),
        sweep_interval_seconds=0.5,
        watcher_poll_interval_seconds=0.25,
        intent_cache_seconds=0,
        smtp_url=smtp.url,
        smtp_from="receipts@shop.test",
    )


@pytest.fixture(scope="session")
def web_chain(web_settings: Settings) -> ChainEnv:
    return run_async(lambda: prepare_chain_env(web_settings.secret("gateway_signing_key")))


@pytest.fixture(scope="session")
def gateway_server(web_settings: Settings, web_chain: ChainEnv) -> Iterator[GatewayServer]:
    with GatewayServer(web_settings, web_settings.port) as server:
        yield server


@dataclass
class Shop:
    """A merchant signed up on the running gateway, paid to the devnet merchant wallet."""

    url: str
    sk: str
    pk: str
    id: str

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}{path}", data=data, headers={"Authorization": f"Bearer {self.sk}"}, **kw
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def get(self, path: str) -> dict[str, Any]:
        response = httpx.get(f"{self.url}{path}", headers={"Authorization": f"Bearer {self.sk}"})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def intent(self, amount: int = 25_000, **fields: Any) -> dict[str, Any]:
        """A confirmed intent (as a merchant server makes it), with the hosted checkout URL."""
        pi = self.post(
            "/v1/payment_intents",
            {"amount": amount, "currency": "sbtc", "description": "A very good mug", **fields},
        )
        return pi

    def status(self, pi_id: str) -> str:
        status: str = self.get(f"/v1/payment_intents/{pi_id}")["status"]
        return status


@pytest.fixture(scope="session")
def shop(gateway_server: GatewayServer, web_chain: ChainEnv) -> Shop:
    import uuid

    response = httpx.post(
        f"{gateway_server.url}/v1/merchants",
        data={
            "business_name": "Mugs & Co.",
            "email": f"mugs-{uuid.uuid4().hex[:8]}@example.com",
            "stacks_address": web_chain.merchant,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    shop = Shop(gateway_server.url, body["secret_key"], body["publishable_key"], body["id"])
    shop.post(
        "/v1/account",
        {"logo_url": f"{gateway_server.url}/static/sbtc-mark.svg", "accent_color": "#f7931a"},
    )
    return shop


# --- the test wallet --------------------------------------------------------------------------

# Registered where @stacks/connect looks for wallets (window.wbip_providers, a dotted path on
# window) and preselected (localStorage STX_PROVIDER), before any page script runs, in every
# frame. Its `request` is answered by the Python side (`TestWallet`) through a binding.
WALLET_INIT = """
(() => {
  const provider = {
    isTestWallet: true,
    request: async (method, params) => {
      const answer = await window.__sbtcTestWallet(method, params === undefined ? null : params);
      if (answer && answer.error) throw { jsonrpc: '2.0', id: 1, error: answer.error };
      return { jsonrpc: '2.0', id: 1, result: answer.result };
    },
  };
  window.TestWalletProvider = provider;
  window.wbip_providers = [...(window.wbip_providers || []),
    { id: 'TestWalletProvider', name: 'Test Wallet', icon: 'data:image/svg+xml,%3Csvg/%3E' }];
  try { window.localStorage.setItem('STX_PROVIDER', 'TestWalletProvider'); } catch (e) {}
})();
"""


@dataclass
class TestWallet:
    """The wallet's side: answers addresses, and for `stx_callContract` signs the call with a
    devnet key (@stacks/transactions, tests/js/pay_intent.mjs) and broadcasts it — or refuses
    (the customer closing the wallet: 4001)."""

    env: ChainEnv
    key: str
    address: str
    refuse: bool = False
    calls: list[dict[str, Any]] = field(default_factory=list)
    txids: list[str] = field(default_factory=list)
    on_broadcast: Callable[[str], None] | None = None
    before_sign: Callable[[dict[str, Any]], None] | None = None
    # sign something else than asked: a post-condition for this amount instead (the
    # transaction lands and aborts on chain: a failed payment)
    tamper_amount: int | None = None

    __test__ = False  # not a test class

    def answer(self, source: Any, method: str, params: Any) -> dict[str, Any]:
        if method in ("stx_getAddresses", "getAddresses"):
            return {"result": {"addresses": [{"address": self.address, "symbol": "STX"}]}}
        if method == "stx_callContract":
            self.calls.append(params)
            if self.refuse:
                return {"error": {"code": 4001, "message": "User rejected the request"}}
            if self.before_sign:
                self.before_sign(params)
            call = {
                "contract_id": params["contract"],
                "function_name": params["functionName"],
                "function_args": params["functionArgs"],
                "post_conditions": params["postConditions"],
                "post_condition_mode": params["postConditionMode"],
                "network": params["network"],
            }
            if self.tamper_amount is not None:
                from sbtc_gateway.chain import DEVNET, ft_post_condition

                pc = ft_post_condition(self.address, "eq", self.tamper_amount, DEVNET.sbtc_asset_id)
                call["post_conditions"] = [pc.to_hex()]
                self.tamper_amount = None  # once
            txid = self.env.pay(call, key=self.key)
            self.txids.append(txid)
            if self.on_broadcast:
                self.on_broadcast(txid)
            return {"result": {"txid": txid}}
        return {"error": {"code": -32601, "message": f"method not found: {method}"}}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Per module: Playwright's sync API keeps an event loop running in this thread while it
    is open, which async tests (pytest-asyncio) that come later could not run beside."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@dataclass
class Page:
    """A Playwright page with the test wallet and a record of every request it made."""

    page: Any
    context: Any
    wallet: TestWallet
    requests: list[str]
    console: list[str]

    def foreign_requests(self, *origins: str) -> list[str]:
        allowed = (*tuple(origins), "data:", "blob:", "about:")
        return [url for url in self.requests if not url.startswith(allowed)]

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's serious and critical violations on the page as it is now."""
        # evaluated through the DevTools protocol: the page's CSP (rightly) refuses inline scripts
        self.page.evaluate(AXE.read_text() + "\n;undefined")
        result = self.page.evaluate("async () => JSON.stringify(await axe.run(document))")
        violations: list[dict[str, Any]] = json.loads(result)["violations"]
        return [v for v in violations if v["impact"] in ("serious", "critical")]


@pytest.fixture
def open_page(chromium: Any, web_chain: ChainEnv) -> Iterator[Callable[..., Page]]:
    contexts: list[Any] = []

    def make(
        *, viewport: dict[str, int] = DESKTOP, key: str | None = None, address: str | None = None
    ) -> Page:
        context = chromium.new_context(viewport=viewport, device_scale_factor=1)
        contexts.append(context)
        wallet = TestWallet(web_chain, key or web_chain.payer_key, address or web_chain.payer)
        context.expose_binding("__sbtcTestWallet", wallet.answer)
        context.add_init_script(WALLET_INIT)
        page = context.new_page()
        requests: list[str] = []
        console: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        return Page(page, context, wallet, requests, console)

    yield make
    for context in contexts:
        context.close()


def mine_until(env: ChainEnv, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        env.mine()
        time.sleep(0.4)
    raise AssertionError("timed out")
