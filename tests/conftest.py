"""Shared fixtures: one migrated database per backend (SQLite, and PostgreSQL when reachable).

Every test signs up its own merchant, and every query is merchant-scoped, so tests share a
database without seeing each other's rows. PostgreSQL databases are created here and dropped at
the end. In CI (CI=true) PostgreSQL is required: a missing server fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn
from pydantic import SecretStr

from sbtc_gateway.config import Settings
from sbtc_gateway.core import request_signing
from sbtc_gateway.core.rsa_keys import generate_private_key_pem
from sbtc_gateway.db.migrate import upgrade
from sbtc_gateway.devnet import DevnetProcess
from sbtc_gateway.devnet import available as devnet_available
from sbtc_gateway.runtime.app import create_app

# The devnet fixtures the chain suites share (chain_env, watcher, shop, …).
pytest_plugins = ["tests.chain_fixtures"]

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_ADDRESS = "ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG"
OTHER_ADDRESS = "ST2ZD731ANQZT6J4K3F5N8A40ZXWXC1XFXH4HF6PF"
MAINNET_ADDRESS = "SP2ZD731ANQZT6J4K3F5N8A40ZXWXC1XFXHVVQFKE"
# Two AES-256 keys: "new" encrypts, "old" still decrypts (rotation).
WEBHOOK_KEYS = "new:" + "BgYG" * 10 + "BgY=,old:" + "AQEB" * 10 + "AQE="


_DEVNET: DevnetProcess | None = None
# One RSA key for the whole run (generating one per app would cost CPU for nothing).
TEST_JWT_KEY = generate_private_key_pem()
# The key every test gateway signs payment terms with (the run's devnet contract accepts it).
TEST_SIGNING_KEY = "11" * 32


def pytest_configure(config: pytest.Config) -> None:
    """Start one devnet for the whole run (unless STACKS_DEVNET_URL points at one already).

    It mines only on demand (block time 0), so tests decide when blocks happen. Module-level
    `STACKS_DEVNET_URL` reads see it because this runs before test modules are imported.
    """
    global _DEVNET
    if os.environ.get("SBTC_TEST_NO_DEVNET"):
        return
    if not os.environ.get("STACKS_DEVNET_URL"):
        if devnet_available() is not None:
            if IN_CI:
                raise pytest.UsageError(f"the devnet is required in CI: {devnet_available()}")
            return
        _DEVNET = DevnetProcess(port=0, block_time_ms=0, burn_block_time_ms=0).start()
        os.environ["STACKS_DEVNET_URL"] = _DEVNET.url
    # Every confirmation checks that the contract accepts the gateway's key: the run's gateways
    # all sign with TEST_SIGNING_KEY (make_settings), so set it once.
    from tests.chain_fixtures import set_gateway_key

    asyncio.run(set_gateway_key(os.environ["STACKS_DEVNET_URL"], TEST_SIGNING_KEY))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _DEVNET is not None:
        _DEVNET.stop()


def _pg_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{dbname}"


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "gateway.db"
        url = f"sqlite+aiosqlite:///{path}"
        asyncio.run(upgrade(url))
        yield url
        return
    if not _pg_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (required in CI)")
        pytest.skip("PostgreSQL is not reachable")
    dbname = f"sbtc_test_{secrets.token_hex(4)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{dbname}"'))
    url = _pg_url(dbname)
    try:
        asyncio.run(upgrade(url))
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))


_REDIS_PREFIXES: list[str] = []


def redis_test_prefix() -> str:
    """A fresh Redis key prefix, whose keys are deleted at the end of the session."""
    prefix = f"sbtc-test-{secrets.token_hex(6)}:"
    _REDIS_PREFIXES.append(prefix)
    return prefix


@pytest.fixture(scope="session", autouse=True)
def _delete_redis_test_keys() -> Iterator[None]:
    yield
    if not _REDIS_PREFIXES:
        return
    from redis import Redis

    client = Redis.from_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        for prefix in _REDIS_PREFIXES:
            keys = list(client.scan_iter(match=prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
    except OSError:
        pass
    finally:
        client.close()


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "api_key_secret": SecretStr("test-api-key-secret-" + "x" * 32),
        "gateway_signing_key": SecretStr(TEST_SIGNING_KEY),
        "encryption_keys": SecretStr(WEBHOOK_KEYS),
        "jwt_private_key": SecretStr(TEST_JWT_KEY),
        "webhook_timeout_seconds": 2.0,
        "webhook_poll_interval_seconds": 0.05,
        "webhook_test_retry_base_seconds": 0.2,
        "webhook_test_retry_cap_seconds": 1.0,
        "webhook_test_retry_window_seconds": 120.0,
        "db_pool_size": 10,
        "log_json": False,
        # Suites sign up hundreds of merchants from one address; rate limits have their tests.
        "rate_limit_per_minute": 1_000_000,
        "anonymous_rate_limit_per_minute": 1_000_000,
        "signup_rate_limit_per_hour": 1_000_000,
        "key_rotation_rate_limit_per_hour": 1_000_000,
        "login_rate_limit_per_minute": 1_000_000,
    }
    if os.environ.get("STACKS_DEVNET_URL"):
        # Confirming an intent reads the Stacks tip: the run's devnet answers it.
        # (Live-mode tests confirm too: the devnet stands in for mainnet's tip; nothing is paid.)
        values["test_stacks_api_url"] = os.environ["STACKS_DEVNET_URL"]
        values["live_stacks_api_url"] = os.environ["STACKS_DEVNET_URL"]
    if os.environ.get("TEST_SHARED_STATE") == "redis":
        # Run any suite on Redis-backed shared state: TEST_SHARED_STATE=redis pytest …
        values["redis_url"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
        values["redis_key_prefix"] = redis_test_prefix()
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(database_url, tmp_path_factory.mktemp("data"))


@pytest_asyncio.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest_asyncio.fixture(scope="session")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


class Merchant:
    """A signed-up merchant and handy authenticated calls."""

    def __init__(self, client: httpx.AsyncClient, body: dict[str, Any]) -> None:
        self.client = client
        self.body = body
        self.id: str = body["id"]
        self.sk: str = body["secret_key"]
        self.pk: str = body["publishable_key"]
        # each secret key's request-signing secret (shown with the key when it is issued)
        self.signing_secrets: dict[str, str] = {self.sk: body["signing_secret"]}

    def add_key(self, key: str, signing_secret: str) -> None:
        self.signing_secrets[key] = signing_secret

    def headers(self, key: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.sk}", **extra}

    async def post(
        self,
        path: str,
        data: Any = None,
        *,
        key: str | None = None,
        json: Any = None,
        signed: bool | None = None,
        **h: str,
    ) -> httpx.Response:
        """POST as the merchant. Live secret keys must sign sensitive calls, so requests made
        with one whose signing secret is known (`add_key`) carry an `Sbtc-Signature` unless
        `signed=False` (test keys: `signed=True`)."""
        key = key or self.sk
        if signed is None:
            signed = key.startswith("sk_live_") and key in self.signing_secrets
        request = self.client.build_request(
            "POST", path, data=data, json=json, headers=self.headers(key, **h)
        )
        if signed:
            request.headers["Sbtc-Signature"] = request_signing.sign_header(
                self.signing_secrets[key], "POST", path, request.read()
            )
        return await self.client.send(request)

    async def get(self, path: str, params: Any = None, *, key: str | None = None) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.headers(key))

    async def create_intent(self, amount: int = 25_000, **fields: Any) -> dict[str, Any]:
        response = await self.post(
            "/v1/payment_intents", {"amount": amount, "currency": "sbtc", **fields}
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


async def sign_up(client: httpx.AsyncClient, **fields: Any) -> Merchant:
    data = {
        "business_name": "Test Shop",
        "email": f"shop-{secrets.token_hex(6)}@example.com",
        "stacks_address": TEST_ADDRESS,
        **fields,
    }
    response = await client.post("/v1/merchants", data=data)
    assert response.status_code == 200, response.text
    return Merchant(client, response.json())


@pytest_asyncio.fixture
async def merchant(client: httpx.AsyncClient) -> Merchant:
    return await sign_up(client)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerThread:
    """A real uvicorn server on a loopback port, for the official SDKs (real HTTP clients)."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("test server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[ServerThread]:
    with ServerThread(settings) as server:
        yield server


# --- Redis and extra app instances (gateway-layer tests) -------------------------------------

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_reachable(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not _redis_reachable(TEST_REDIS_URL):
        if IN_CI:
            pytest.fail(f"Redis is not reachable at {TEST_REDIS_URL} (required in CI)")
        pytest.skip("Redis is not reachable")
    return TEST_REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    from scripts.scaleout import delete_redis_keys

    prefix = f"sbtc-test-{secrets.token_hex(6)}:"
    yield prefix
    delete_redis_keys(redis_url, prefix)


@pytest.fixture(scope="session")
def sqlite_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Gateway-layer tests are about the HTTP edge, so they run once, on SQLite."""
    path = tmp_path_factory.mktemp("edge") / "gateway.db"
    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(upgrade(url))
    return make_settings(url, tmp_path_factory.mktemp("edge-data"))


class AppInstance:
    """An app (one 'replica') with its lifespan running and an httpx client on it."""

    def __init__(self, app: Any, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client

    @property
    def gateway(self) -> Any:
        return self.app.state.gateway


@pytest_asyncio.fixture
async def make_instance() -> AsyncIterator[Any]:
    """`await make_instance(settings, client_addr=("1.2.3.4", 1234))` → AppInstance."""
    import contextlib

    stack = contextlib.AsyncExitStack()

    async def make(
        settings: Settings, client_addr: tuple[str, int] = ("127.0.0.1", 50000)
    ) -> AppInstance:
        application = create_app(settings)
        await stack.enter_async_context(application.router.lifespan_context(application))
        transport = httpx.ASGITransport(app=application, client=client_addr)
        c = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://gateway.test")
        )
        return AppInstance(application, c)

    async with stack:
        yield make


def stand_in_for_mainnet(app: Any) -> None:
    """Live-mode tests read mainnet's tip from the run's devnet; the live contract is not
    deployed there, so its facts (not paused, this gateway's key, nobody suspended) are
    answered here for mainnet. Nothing is ever paid on it."""
    from sbtc_gateway.chain import PrivateKey
    from sbtc_gateway.payments.onchain import ContractFacts

    tips = app.state.gateway.payments.tips
    facts = ContractFacts(
        paused=False,
        gateway_key=PrivateKey.from_hex(TEST_SIGNING_KEY).public_key,
        previous_key=None,
        previous_key_until=0,
    )
    contract, suspended = tips.contract, tips.suspended

    async def contract_facts(network: str, contract_id: str) -> ContractFacts:
        return facts if network == "mainnet" else await contract(network, contract_id)

    async def is_suspended(network: str, contract_id: str, payee: str) -> bool:
        return False if network == "mainnet" else await suspended(network, contract_id, payee)

    tips.contract, tips.suspended = contract_facts, is_suspended
