"""`sbtc-gateway devnet`: the local Stacks chain in the foreground."""

from __future__ import annotations

from pathlib import Path

import click

from sbtc_gateway.cli.base import main


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
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the chain in this folder and continue it at the next start (default: none).",
)
def devnet(port: int, host: str, block_time_ms: int, state_dir: Path | None) -> None:
    """Run the local Stacks devnet (the real Clarity VM) in the foreground, listing its accounts."""
    from sbtc_gateway.devnet import DevnetError, DevnetProcess

    process = DevnetProcess(
        port=port, host=host, block_time_ms=block_time_ms, quiet=False, state_dir=state_dir
    )
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
