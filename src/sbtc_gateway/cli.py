"""The `sbtc-gateway` command line: servers, migrations and operator commands."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from sbtc_gateway.config import ConfigurationError, Settings, load_settings


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigurationError as exc:
        raise click.ClickException(f"refusing to start: {exc}") from None


@click.group()
@click.version_option(package_name="sbtc-gateway")
def main() -> None:
    """sBTC Payment Gateway: accept Bitcoin (sBTC on Stacks) through a Stripe-compatible API."""


@main.command()
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=Path("./var"), show_default=True
)
def dev(port: int, host: str, data_dir: Path) -> None:
    """Everything on embedded defaults: SQLite, in-process cache and jobs, test mode."""
    import uvicorn

    from sbtc_gateway.api.app import create_app
    from sbtc_gateway.core.logging import configure_logging
    from sbtc_gateway.db.migrate import upgrade

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
    app = create_app(settings, background_tasks=True)
    # uvicorn re-raises the SIGTERM it caught once it has shut down; by default that kills the
    # process before the devnet it started is stopped. Turn it into an exception instead.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    with _dev_devnet(settings), contextlib.suppress(KeyboardInterrupt):
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _dev_devnet(settings: Settings) -> Iterator[None]:
    """In `dev`, run the local devnet too when test mode pays on it and nothing listens there."""
    from urllib.parse import urlsplit

    from sbtc_gateway.devnet import DevnetError, DevnetProcess, available

    target = urlsplit(settings.test_stacks_api_url)
    local = target.hostname in ("127.0.0.1", "localhost") and settings.test_network == "devnet"
    if not local or _listening(target.hostname or "127.0.0.1", target.port or 3999):
        yield
        return
    reason = available()
    if reason:
        click.echo(f"  devnet not started ({reason}); payments need a Stacks API", err=True)
        yield
        return
    try:
        process = DevnetProcess(port=target.port or 3999, host=target.hostname or "127.0.0.1")
        process.start()
    except DevnetError as exc:
        click.echo(f"  devnet not started: {exc}", err=True)
        yield
        return
    click.echo(
        f"  devnet (Stacks API) on {process.url}, contract {process.info.get('gateway_contract')}"
    )
    try:
        if process.info.get("gateway_contract"):
            _register_gateway_key(settings, process.url)
        yield
    finally:
        process.stop()


def _register_gateway_key(settings: Settings, url: str) -> None:
    """A fresh devnet's contract knows no gateway key: set ours as its owner (the deployer)."""
    import httpx

    from sbtc_gateway.chain import DEVNET, PrivateKey, StacksApiClient
    from sbtc_gateway.watcher import setup

    accounts = httpx.get(f"{url}/devnet/accounts", timeout=10).json()
    owner = PrivateKey.from_hex(next(a for a in accounts if a["name"] == "deployer")["private_key"])
    gateway_key = PrivateKey.from_hex(settings.secret("gateway_signing_key"))

    async def _main() -> str:
        async with StacksApiClient(url) as client:
            sent = await setup.set_gateway_key(
                client, DEVNET, settings.test_gateway_contract, owner, gateway_key.public_key
            )
            return sent.txid

    txid = asyncio.run(_main())
    click.echo(
        f"  gateway key 0x{gateway_key.public_key.hex()} set on the devnet contract ({txid})"
    )


def _listening(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


@main.command()
@click.option("--port", type=int, default=3999, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--block-time-ms",
    type=int,
    default=2000,
    show_default=True,
    help="Mine a block every N ms while transactions wait; 0 = only on demand.",
)
def devnet(port: int, host: str, block_time_ms: int) -> None:
    """Run the local Stacks devnet (the real Clarity VM) in the foreground, listing its accounts."""
    from sbtc_gateway.devnet import DevnetError, DevnetProcess

    process = DevnetProcess(port=port, host=host, block_time_ms=block_time_ms, quiet=False)
    try:
        process.start()
    except DevnetError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"devnet ready on {process.url} (Ctrl-C stops it)")
    try:
        assert process.process is not None
        process.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        process.stop()


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
            "sbtc_gateway.api.asgi:app",
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_level="warning",
            factory=False,
            proxy_headers=False,  # SBTC_TRUSTED_PROXIES decides, in the app
        )
        return
    from sbtc_gateway.api.app import create_app

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
    """Background jobs: webhook delivery, expiry sweeps and idempotency-key pruning."""

    from sbtc_gateway.api.app import build_state
    from sbtc_gateway.core.logging import configure_logging
    from sbtc_gateway.worker import run_once, run_worker

    settings = _settings()
    configure_logging(settings.log_level, json=settings.log_json)
    if not once:
        _serve_metrics(metrics_port, metrics_host)

    async def _main() -> None:
        state = build_state(settings)
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
            await state.shared.close()
            await state.engine.dispose()

    asyncio.run(_main())


def _watch_target(settings: Settings, network: str) -> Any:
    from sbtc_gateway.chain import get_network
    from sbtc_gateway.watcher.service import WatchTarget

    livemode = network == "mainnet"
    contract = settings.live_gateway_contract if livemode else settings.test_gateway_contract
    if contract is None:
        raise click.ClickException("no gateway contract is configured for mainnet")
    return WatchTarget(
        network=get_network(network),
        contract_id=contract,
        livemode=livemode,
        large_payment_sats=settings.large_payment_sats,
        large_payment_confirmations=settings.large_payment_confirmations,
    )


def _api_url(settings: Settings, network: str) -> str:
    return settings.live_stacks_api_url if network == "mainnet" else settings.test_stacks_api_url


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

    from sbtc_gateway.api.app import build_state
    from sbtc_gateway.chain import StacksApiClient
    from sbtc_gateway.core.logging import configure_logging
    from sbtc_gateway.watcher.endpoints import WAKE_CHANNEL
    from sbtc_gateway.watcher.runner import Watcher

    settings = _settings()
    configure_logging(settings.log_level, json=settings.log_json)
    name = network or ("mainnet" if settings.live else settings.test_network)
    if not once:
        _serve_metrics(metrics_port, metrics_host)

    async def _main() -> None:
        state = build_state(settings)
        client = StacksApiClient(_api_url(settings, name))
        watch = Watcher(
            state.sessions,
            _watch_target(settings, name),
            client,
            after_commit=state.after_commit,
            poll_interval=settings.watcher_poll_interval_seconds,
        )
        state.shared.pubsub.subscribe(WAKE_CHANNEL, watch.on_push)
        await state.shared.start()
        try:
            if once:
                click.echo(json.dumps(asdict(await watch.run_round())))
            else:
                await watch.run_as_leader(state.engine, standby=settings.watcher_standby_seconds)
        finally:
            await client.aclose()
            await state.shared.close()
            await state.engine.dispose()

    asyncio.run(_main())


@main.command()
@click.option("--output", required=True, type=click.Path(path_type=Path), help="File to write.")
def backup(output: Path) -> None:
    """Copy the database to a file (pg_dump custom format, or a SQLite snapshot), online."""
    from sbtc_gateway.db import backup as backups

    settings = _settings()
    try:
        summary = asyncio.run(backups.backup(settings.resolved_database_url, output))
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps({"file": str(output), **summary.as_dict()}))


@main.command()
@click.option("--input", "source", required=True, type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace the tables of a database that has some.")
def restore(source: Path, force: bool) -> None:
    """Load a backup into an empty database, then migrate it to this version's schema."""
    from sbtc_gateway.db import backup as backups

    settings = _settings()
    try:
        summary = asyncio.run(backups.restore(settings.resolved_database_url, source, force=force))
    except backups.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps({"file": str(source), **summary.as_dict()}))


@main.group()
def chain() -> None:
    """On-chain set-up: the gateway's public key and the contract's copy of it."""


@chain.command("public-key")
def chain_public_key() -> None:
    """Print the gateway's compressed public key (what `set-gateway-key` needs)."""
    from sbtc_gateway.chain import PrivateKey

    settings = _settings()
    key = PrivateKey.from_hex(settings.secret("gateway_signing_key"))
    click.echo("0x" + key.public_key.hex())


@chain.command("setup")
@click.option(
    "--owner-key",
    envvar="SBTC_CHAIN_OWNER_KEY",
    required=True,
    help="The contract owner's private key (hex; env SBTC_CHAIN_OWNER_KEY). Never logged.",
)
@click.option("--network", type=click.Choice(["devnet", "testnet"]), default=None)
@click.option("--no-wait", is_flag=True, help="Broadcast only; do not wait for the block.")
def chain_setup(owner_key: str, network: str | None, no_wait: bool) -> None:
    """Call `set-gateway-key` on the test network's contract with the gateway's public key."""
    from sbtc_gateway.chain import PrivateKey, StacksApiClient, get_network
    from sbtc_gateway.watcher import setup

    settings = _settings()
    name = network or settings.test_network
    gateway_key = PrivateKey.from_hex(settings.secret("gateway_signing_key"))
    owner = PrivateKey.from_hex(owner_key)

    async def _main() -> dict[str, Any]:
        async with StacksApiClient(_api_url(settings, name)) as client:
            sent = await setup.set_gateway_key(
                client,
                get_network(name),
                settings.test_gateway_contract,
                owner,
                gateway_key.public_key,
            )
            out: dict[str, Any] = {
                "txid": sent.txid,
                "public_key": "0x" + gateway_key.public_key.hex(),
            }
            if not no_wait:
                info = await setup.wait(client, sent.txid)
                out["tx_status"] = info.status.value
            return out

    click.echo(json.dumps(asyncio.run(_main())))


@main.command()
@click.option("--forward-to", required=True, help="Local URL to POST events to.")
@click.option(
    "--api-key",
    envvar=["SBTC_API_KEY", "STRIPE_API_KEY"],
    required=True,
    help="The merchant's secret key (or SBTC_API_KEY).",
)
@click.option("--api-base", default="http://127.0.0.1:8000", show_default=True)
@click.option("--events", default="*", show_default=True, help="Comma-separated event types.")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=Path("./var"), show_default=True
)
@click.option("--print-secret", is_flag=True, help="Print the signing secret and exit.")
def listen(
    forward_to: str,
    api_key: str,
    api_base: str,
    events: str,
    data_dir: Path,
    print_secret: bool,
) -> None:
    """Forward the merchant's new events to a local URL, signed (like `stripe listen`)."""

    from sbtc_gateway.webhooks.listen import Listener, ListenOptions

    secret = _listen_secret(data_dir)
    if print_secret:
        click.echo(secret)
        return
    options = ListenOptions(
        api_base=api_base.rstrip("/"),
        api_key=api_key,
        forward_to=forward_to,
        secret=secret,
        events=frozenset(e.strip() for e in events.split(",") if e.strip()),
    )
    click.echo(f"Ready! Your webhook signing secret is {secret} (^C to quit)")
    click.echo(f"Forwarding {events} events from {options.api_base} to {forward_to}")

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await Listener(options, lambda line: click.echo(line)).run(stop)

    asyncio.run(_main())


def _listen_secret(data_dir: Path) -> str:
    """The `listen` signing secret: generated once per data directory and kept (0600)."""
    import os

    from sbtc_gateway.webhooks.signing import new_secret

    path = data_dir / "listen-secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = new_secret()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret


@main.command()
def migrate() -> None:
    """Apply database migrations."""
    from sbtc_gateway.db.migrate import upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(upgrade(settings.resolved_database_url))
    click.echo("migrations applied")


@main.group()
def merchants() -> None:
    """Operator commands for merchants."""


@merchants.command("create")
@click.option("--business-name", required=True)
@click.option("--email", required=True)
@click.option("--stacks-address", required=True, help="Testnet payout address (ST…)")
@click.option("--tier", default=None)
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print the merchant and keys as JSON.")
def merchants_create(
    business_name: str,
    email: str,
    stacks_address: str,
    tier: str | None,
    data_dir: Path | None,
    as_json: bool,
) -> None:
    """Sign up a merchant and print its test keys (shown this once)."""
    from sbtc_gateway.core.errors import GatewayError
    from sbtc_gateway.db.migrate import upgrade
    from sbtc_gateway.merchants import service
    from sbtc_gateway.merchants.schemas import MerchantCreateParams, render_account, with_keys

    settings = _settings(data_dir=data_dir)
    raw: dict[str, Any] = {
        "business_name": business_name,
        "email": email,
        "stacks_address": stacks_address,
    }
    if tier:
        raw["tier"] = tier

    async def _main() -> dict[str, Any]:
        from sbtc_gateway.api.app import build_state
        from sbtc_gateway.api.params import validate

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade(settings.resolved_database_url)
        params = validate(MerchantCreateParams, raw)
        state = build_state(settings)
        try:
            async with state.sessions.begin() as session:
                merchant, issued = await service.register(
                    session, params, key_secret=state.key_secret
                )
                return with_keys(render_account(merchant, livemode=False), issued, state.key_secret)
        finally:
            await state.engine.dispose()

    try:
        body = asyncio.run(_main())
    except GatewayError as exc:
        raise click.ClickException(f"{exc.message} (param: {exc.param})") from None
    _print_merchant(body, as_json)


@merchants.command("activate")
@click.argument("merchant_id")
@click.option("--live-stacks-address", required=True, help="Mainnet payout address (SP…)")
@click.option("--json", "as_json", is_flag=True)
def merchants_activate(merchant_id: str, live_stacks_address: str, as_json: bool) -> None:
    """Enable live mode for a merchant and print its live keys (shown this once)."""
    from sbtc_gateway.api.app import build_state
    from sbtc_gateway.core.errors import GatewayError
    from sbtc_gateway.merchants import service
    from sbtc_gateway.merchants.schemas import render_account, with_keys

    settings = _settings()
    if not settings.live:
        raise click.ClickException(
            "this gateway runs in test mode; live keys need SBTC_MODE=live and its secrets"
        )

    async def _main() -> dict[str, Any]:
        state = build_state(settings)
        try:
            async with state.sessions.begin() as session:
                merchant, issued = await service.activate(
                    session, merchant_id, live_stacks_address, key_secret=state.key_secret
                )
                return with_keys(render_account(merchant, livemode=True), issued, state.key_secret)
        finally:
            await state.engine.dispose()

    try:
        body = asyncio.run(_main())
    except GatewayError as exc:
        raise click.ClickException(exc.message) from None
    _print_merchant(body, as_json)


def _print_merchant(body: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(f"merchant        {body['id']} ({body['business_name']})")
    click.echo(f"publishable key {body['publishable_key']}")
    click.echo(f"secret key      {body['secret_key']}")
    click.echo(f"signing secret  {body['signing_secret']}")
    click.echo("Keep the secret key and signing secret safe: not shown again.", err=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
