"""`sbtc-gateway listen`: forward a merchant's events to a local URL (like `stripe listen`)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from sbtc_gateway.cli.base import main


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
