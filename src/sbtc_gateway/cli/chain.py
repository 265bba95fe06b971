"""`sbtc-gateway chain …`: the gateway's public key and the contract's copy of it; following a new
chain (`follow-new`)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from sbtc_gateway.cli.base import _settings, main


@main.group()
def chain() -> None:
    """On-chain set-up (the gateway's key in the contract), and which chain the watcher follows."""


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


@chain.command("rotate-gateway-key")
@click.option(
    "--new-key-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="File holding the new gateway signing key (hex). Never printed or logged.",
)
@click.option(
    "--owner-key",
    envvar="SBTC_CHAIN_OWNER_KEY",
    required=True,
    help="The contract owner's private key (hex; env SBTC_CHAIN_OWNER_KEY). Never logged.",
)
@click.option("--network", type=click.Choice(["devnet", "testnet"]), default=None)
def chain_rotate_gateway_key(new_key_file: Path, owner_key: str, network: str | None) -> None:
    """Rotate the gateway's signing key on the contract (`set-gateway-key`), waiting until the
    transaction is mined. From that block on only the new key's signatures pay; then set
    SBTC_GATEWAY_SIGNING_KEY to the new key on every replica and restart them. Intents awaiting
    payment are shown with terms signed again by the new key as soon as they are retrieved (the
    call is rebuilt when shown, never stored); a payment a wallet already signed with the old
    key's terms aborts on chain (the contract checks the new key) and its intent is handled as
    any failed payment attempt (ADR 0008; docs/runbooks/gateway-signing-key.md). Mainnet: the
    owner signs `set-gateway-key` in their own wallet with the public key printed by `chain
    public-key`."""
    from sbtc_gateway.chain import PrivateKey, StacksApiClient, get_network
    from sbtc_gateway.runtime.watcher import api_url
    from sbtc_gateway.watcher import setup

    settings = _settings()
    name = network or settings.test_network
    try:
        new_key = PrivateKey.from_hex(new_key_file.read_text().strip())
    except ValueError:
        raise click.ClickException(f"{new_key_file} does not hold a private key (hex)") from None
    old_public = PrivateKey.from_hex(settings.secret("gateway_signing_key")).public_key
    if new_key.public_key == old_public:
        raise click.ClickException("the new key is the key in use: nothing to rotate")
    owner = PrivateKey.from_hex(owner_key)

    async def _main() -> dict[str, Any]:
        async with StacksApiClient(api_url(settings, name)) as client:
            sent = await setup.set_gateway_key(
                client, get_network(name), settings.test_gateway_contract, owner,
                new_key.public_key,
            )  # fmt: skip
            info = await setup.wait(client, sent.txid)
        return {
            "txid": sent.txid,
            "tx_status": info.status.value,
            "old_public_key": "0x" + old_public.hex(),
            "new_public_key": "0x" + new_key.public_key.hex(),
            "next": "set SBTC_GATEWAY_SIGNING_KEY to the new key on every replica, restart them",
        }

    out = asyncio.run(_main())
    click.echo(json.dumps(out))
    if out["tx_status"] != "success":
        raise click.ClickException(f"set-gateway-key did not succeed: {out['tx_status']}")


@chain.command("follow-new")
@click.option(
    "--network",
    type=click.Choice(["devnet", "testnet", "mainnet"]),
    default=None,
    help="Default: mainnet in live mode, else the test network.",
)
def chain_follow_new(network: str | None) -> None:
    """Follow the chain the Stacks API serves now, when it is not the one the watcher followed
    (a wiped or another devnet, a reset testnet): a new cursor at its tip. Nothing recorded of
    the old chain changes and no event is sent; its seen blocks and inbox are kept under an
    archive name (ADR 0202). Does nothing when the chain is the one followed."""
    from dataclasses import asdict

    from sbtc_gateway.chain import StacksApiClient
    from sbtc_gateway.runtime.container import build_gateway
    from sbtc_gateway.runtime.watcher import (
        NoContractError,
        api_url,
        build_watcher,
        default_network,
        watch_target,
    )
    from sbtc_gateway.watcher import identity

    settings = _settings()
    name = network or default_network(settings)
    try:
        watch_target(settings, name)
    except NoContractError as exc:
        raise click.ClickException(str(exc)) from None

    async def _main() -> identity.Followed | identity.ChainCheck:
        state = build_gateway(settings)
        try:
            async with StacksApiClient(api_url(settings, name)) as client:
                return await build_watcher(state, name, client).follow_new_chain()
        finally:
            await state.aclose()

    outcome = asyncio.run(_main())
    if isinstance(outcome, identity.ChainCheck):
        click.echo(f"Nothing to do. {outcome.message()}")
        return
    stranded = outcome.stranded
    click.echo(
        f"Following the new {name} chain from block {outcome.new_height} (the old one was"
        f" followed to block {outcome.old_height}; its records are kept as they were, its seen"
        f" blocks and inbox under the name {outcome.archive})."
    )
    if stranded["txids"]:
        click.echo(
            f"{len(stranded['txids'])} transaction(s) of the old chain were still waiting (rolled"
            " back, or waiting for confirmations); the new chain never settles them, check them"
            f" by hand: charges {stranded['charges']}, refunds {stranded['refunds']},"
            f" intents waiting for confirmations {stranded['waiting']}."
        )
    click.echo(json.dumps(asdict(outcome)))
