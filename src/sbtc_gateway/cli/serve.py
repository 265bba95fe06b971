"""Serving commands: `dev`, `api`, `worker` and `watcher`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Iterator
from pathlib import Path

import click
from pydantic import SecretStr

from sbtc_gateway.cli.base import _settings, main
from sbtc_gateway.config import Settings


@main.command()
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=Path("./var"), show_default=True
)
def dev(port: int, host: str, data_dir: Path) -> None:
    """Everything on embedded defaults: SQLite, in-process cache and jobs, test mode."""
    import uvicorn

    from sbtc_gateway.core.logging import configure_logging
    from sbtc_gateway.db.migrate import upgrade
    from sbtc_gateway.runtime.app import create_app

    settings = _settings(port=port, host=host, data_dir=data_dir, log_json=False)
    configure_logging(settings.log_level, json=False)
    data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(upgrade(settings.resolved_database_url))
    url = f"http://{host}:{port}"
    click.echo(
        f"\n  sBTC Payment Gateway (test mode) listening on {url}\n"
        f"  database: {settings.resolved_database_url}\n"
        f"  API docs: {url}/docs\n\n"
        "  Get test keys:\n"
        f"    curl {url}/v1/merchants -d business_name='My Shop' -d email=me@example.com \\\n"
        "         -d stacks_address=ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG\n"
        "  or: .venv/bin/sbtc-gateway merchants create --business-name 'My Shop' "
        "--email me@example.com --stacks-address ST2CY5V39NHDPWSXMW9QDT3HC3GD6Q6XX4CFRK9AG\n"
    )
    # uvicorn re-raises the SIGTERM it caught once it has shut down; by default that kills the
    # process before the devnet it started is stopped. Turn it into an exception instead.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    with _dev_devnet(settings) as settings, contextlib.suppress(KeyboardInterrupt):
        _chain_banner(settings)
        app = create_app(settings, background_tasks=True)
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _dev_devnet(settings: Settings) -> Iterator[Settings]:
    """In `dev`, run the local devnet too when test mode pays on it and nothing listens there.
    On the devnet, its own or one already running, it sets the contract's gateway key to the
    gateway's (as the deployer, who owns the contract) or says exactly why it cannot. Yields
    the settings to run with: when the deployer owns the contract, the operator is the
    deployer unless SBTC_OPERATOR_KEY names another."""
    from urllib.parse import urlsplit

    from sbtc_gateway.devnet import DevnetError, DevnetProcess, available

    target = urlsplit(settings.test_stacks_api_url)
    local = target.hostname in ("127.0.0.1", "localhost") and settings.test_network == "devnet"
    if not local:
        yield settings
        return
    if _listening(target.hostname or "127.0.0.1", target.port or 3999):
        click.echo(f"  devnet: using the Stacks API already on {settings.test_stacks_api_url}")
        yield _with_operator(settings, _ensure_gateway_key(settings, settings.test_stacks_api_url))
        return
    reason = available()
    if reason:
        click.echo(f"  devnet not started ({reason}); payments need a Stacks API", err=True)
        yield settings
        return
    folder = Path(settings.data_dir) / "devnet"
    try:
        process = DevnetProcess(
            port=target.port or 3999, host=target.hostname or "127.0.0.1", state_dir=folder
        )
        process.start()
    except DevnetError as exc:
        click.echo(f"  devnet not started: {exc}", err=True)
        yield settings
        return
    kept = (
        f"continues the chain kept in {folder} (height {process.info.get('stacks_tip_height')})"
        if process.resumed
        else f"a new chain, kept in {folder}"
    )
    click.echo(
        f"  devnet (Stacks API) on {process.url}, contract {process.info.get('gateway_contract')}"
        f"\n  devnet chain: {kept}"
    )
    if process.info.get("contract_matches_file") is False:
        click.echo(
            "  ! the contract file changed since this devnet chain began: the chain keeps the"
            f" contract it deployed then. To deploy the new one, stop and delete {folder}"
            f" (and {settings.data_dir} with it, to start the gateway afresh too)."
        )
    try:
        if process.info.get("gateway_contract"):
            settings = _with_operator(settings, _ensure_gateway_key(settings, process.url))
        yield settings
    finally:
        process.stop()


def _with_operator(settings: Settings, owner_hex: str | None) -> Settings:
    """The devnet deployer (the contract's owner) as the operator, unless one is configured."""
    if owner_hex is None or settings.operator_key is not None:
        return settings
    click.echo(
        f"  operator: the devnet deployer {_devnet_address(owner_hex)} (the contract"
        " owner) sends distribute-fees and revoke-signed-intent; set"
        " SBTC_OPERATOR_KEY for another"
    )
    return settings.model_copy(update={"operator_key": SecretStr(owner_hex)})


def _chain_banner(settings: Settings) -> None:
    """Say at start whether the test network's chain is the one the gateway followed before
    (ADR 0202): a new chain is not followed until an operator says so."""
    from sbtc_gateway.chain import StacksApiClient, StacksApiError
    from sbtc_gateway.db.engine import make_engine, make_sessionmaker
    from sbtc_gateway.runtime.watcher import api_url, default_network
    from sbtc_gateway.watcher import identity

    network = default_network(settings)

    async def _main() -> identity.ChainCheck:
        engine = make_engine(settings.resolved_database_url, pool_size=1)
        try:
            sessions = make_sessionmaker(engine)
            client = StacksApiClient(api_url(settings, network), timeout=10)
            async with client, sessions() as session:
                return await identity.check(session, network, client)
        finally:
            await engine.dispose()

    try:
        check = asyncio.run(_main())
    except StacksApiError as exc:
        click.echo(f"  chain: the {network} Stacks API cannot say which chain it serves ({exc})")
        return
    if check.same:
        click.echo(f"  chain: {check.message()}")
        return
    folder = Path(settings.data_dir) / "devnet"
    click.echo(
        f"\n  ! {check.message()}\n"
        f"  (`make run` keeps its devnet chain in {folder}: put back the folder that held the"
        f" old chain, or delete {settings.data_dir} to start afresh, database and chain"
        " together.)\n",
        err=True,
    )


def _devnet_address(key_hex: str) -> str:
    from sbtc_gateway.chain import DEVNET, PrivateKey

    return PrivateKey.from_hex(key_hex).address(DEVNET.single_sig_version)


def _ensure_gateway_key(settings: Settings, url: str) -> str | None:
    """Make the devnet contract accept the gateway's signing key. Returns the devnet deployer's
    private key (hex) when the deployer owns the contract, else None; every reason it cannot
    set the key is printed (confirmations answer `gateway_key_mismatch` until it is set)."""
    import httpx

    from sbtc_gateway.chain import DEVNET, PrivateKey, StacksApiClient, StacksApiError
    from sbtc_gateway.watcher import setup
    from sbtc_gateway.watcher.decode import py

    contract = settings.test_gateway_contract
    gateway_key = PrivateKey.from_hex(settings.secret("gateway_signing_key"))
    wanted = "0x" + gateway_key.public_key.hex()

    def cannot(why: str) -> None:
        click.echo(
            f"  gateway key NOT set: {why}; payments cannot be confirmed until it is", err=True
        )

    async def _main() -> str | None:
        async with StacksApiClient(url, timeout=10) as client:
            try:
                config = py(await client.call_read_only(contract, "get-config", []))
            except StacksApiError as exc:
                cannot(f"the contract {contract} cannot be read at {url} ({exc})")
                return None
            owner = config.get("owner") if isinstance(config, dict) else None
            try:
                async with httpx.AsyncClient(timeout=10) as http:
                    response = await http.get(f"{url}/devnet/accounts")
                accounts = response.json() if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                accounts = None
            deployer = next(
                (a for a in accounts or () if isinstance(a, dict) and a.get("name") == "deployer"),
                None,
            )
            owner_hex = str(deployer["private_key"]) if deployer is not None else None
            owns = owner_hex is not None and _devnet_address(owner_hex) == owner
            if config.get("gateway-pubkey") == wanted:
                click.echo(f"  gateway key {wanted} already set on {contract}")
                return owner_hex if owns else None
            if owner_hex is None:
                cannot(
                    f"{url} is not a devnet (no /devnet/accounts), so dev has no owner key: the "
                    f"contract's owner {owner} must run `sbtc-gateway chain setup`"
                )
                return None
            if not owns:
                cannot(
                    f"the contract's owner is {owner}, not the devnet deployer "
                    f"{_devnet_address(owner_hex)}: run `sbtc-gateway chain setup --owner-key …` "
                    "with the owner's key"
                )
                return None
            sent = await setup.set_gateway_key(
                client, DEVNET, contract, PrivateKey.from_hex(owner_hex), gateway_key.public_key
            )
            click.echo(
                f"  gateway key {wanted} set on the devnet contract ({sent.txid}; in force once"
                " the devnet mines it)"
            )
            return owner_hex

    return asyncio.run(_main())


def _listening(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@main.command()
@click.option("--port", type=int, default=None)
@click.option("--host", default=None)
@click.option("--workers", type=int, default=1, show_default=True)
def api(port: int | None, host: str | None, workers: int) -> None:
    """Serve the HTTP API (production: run several replicas behind a load balancer)."""
    import uvicorn

    from sbtc_gateway.core.logging import configure_logging

    settings = _settings(port=port, host=host)
    configure_logging(settings.log_level, json=settings.log_json)
    if workers > 1:
        _multiprocess_metrics(settings)
        uvicorn.run(
            "sbtc_gateway.runtime.asgi:app",
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_level="warning",
            factory=False,
            proxy_headers=False,  # SBTC_TRUSTED_PROXIES decides, in the app
        )
        return
    from sbtc_gateway.runtime.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        # uvicorn would believe X-Forwarded-For from 127.0.0.1 by default; the gateway decides
        # from SBTC_TRUSTED_PROXIES instead (api/client_ip.py).
        proxy_headers=False,
    )


def _multiprocess_metrics(settings: Settings) -> None:
    """Several workers: prometheus-client's multiprocess mode, so `/metrics` on any worker
    reports the sum of all (a scrape otherwise sees one worker's numbers at random). The
    directory must start empty: samples of an earlier run would be added in."""
    import os
    import shutil

    from sbtc_gateway.api.metrics import MULTIPROC_ENV

    directory = os.environ.get(MULTIPROC_ENV)
    path = Path(directory) if directory else Path(settings.data_dir) / "prometheus-multiproc"
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)


def _serve_metrics(port: int | None, host: str) -> None:
    """`worker` and `watcher` have no HTTP API: their metrics (webhook outcomes, outbox depth,
    chain lag) are served on a port of their own when asked."""
    if port is None:
        return
    from prometheus_client import start_http_server

    start_http_server(port, addr=host)
    click.echo(f"metrics on http://{host}:{port}/metrics", err=True)


_METRICS_PORT = click.option(
    "--metrics-port",
    type=int,
    default=None,
    envvar="SBTC_METRICS_PORT",
    help="Serve Prometheus metrics on this port (env SBTC_METRICS_PORT).",
)
_METRICS_HOST = click.option(
    "--metrics-host", default="127.0.0.1", show_default=True, envvar="SBTC_METRICS_HOST"
)


@main.command()
@click.option("--once", is_flag=True, help="Run each periodic job once and exit.")
@_METRICS_PORT
@_METRICS_HOST
def worker(once: bool, metrics_port: int | None, metrics_host: str) -> None:
    """Background jobs: webhook delivery, expiry sweeps, idempotency-key pruning and the
    operator account's transactions (distribute-fees, revoke-signed-intent)."""

    from sbtc_gateway.core.logging import configure_logging
    from sbtc_gateway.runtime.container import build_gateway
    from sbtc_gateway.runtime.worker import run_once, run_worker

    settings = _settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if not once:
        _serve_metrics(metrics_port, metrics_host)

    async def _main() -> None:
        state = build_gateway(settings)
        try:
            if once:
                click.echo(json.dumps(await run_once(state)))
            else:
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(sig, stop.set)
                await run_worker(state, stop=stop)
        finally:
            await state.aclose()

    asyncio.run(_main())


@main.command()
@click.option("--once", is_flag=True, help="Run one round and exit.")
@click.option(
    "--network",
    type=click.Choice(["devnet", "testnet", "mainnet"]),
    default=None,
    help="Default: mainnet in live mode, else the test network.",
)
@_METRICS_PORT
@_METRICS_HOST
def watcher(once: bool, network: str | None, metrics_port: int | None, metrics_host: str) -> None:
    """Follow the chain: move PaymentIntents as their payments appear, succeed, fail or reorg."""
    from dataclasses import asdict

    from sbtc_gateway.chain import StacksApiClient
    from sbtc_gateway.core.logging import configure_logging
    from sbtc_gateway.runtime.container import build_gateway
    from sbtc_gateway.runtime.watcher import (
        NoContractError,
        api_url,
        build_watcher,
        default_network,
        watch_target,
    )

    settings = _settings()
    configure_logging(settings.log_level, json=settings.log_json)
    name = network or default_network(settings)
    try:
        watch_target(settings, name)
    except NoContractError as exc:
        raise click.ClickException(str(exc)) from None
    if not once:
        _serve_metrics(metrics_port, metrics_host)

    async def _main() -> None:
        state = build_gateway(settings)
        client = StacksApiClient(api_url(settings, name))
        watch = build_watcher(state, name, client)
        await state.shared.start()
        try:
            if once:
                click.echo(json.dumps(asdict(await watch.run_round())))
            else:
                await watch.run_as_leader(state.engine, standby=settings.watcher_standby_seconds)
        finally:
            await client.aclose()
            await state.aclose()

    asyncio.run(_main())
