"""`sbtc-gateway chain …`: the gateway's public key and the contract's copy of it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from sbtc_gateway.cli.base import _settings, main


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
    from sbtc_gateway.runtime.watcher import api_url
    from sbtc_gateway.watcher import setup

    settings = _settings()
    name = network or settings.test_network
    gateway_key = PrivateKey.from_hex(settings.secret("gateway_signing_key"))
    owner = PrivateKey.from_hex(owner_key)

    async def _main() -> dict[str, Any]:
        async with StacksApiClient(api_url(settings, name)) as client:
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
