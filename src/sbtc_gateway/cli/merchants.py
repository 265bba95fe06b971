"""`sbtc-gateway merchants …`: operator commands for merchants."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from sbtc_gateway.cli.base import _settings, main


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
        from sbtc_gateway.api.params import validate
        from sbtc_gateway.runtime.container import build_gateway

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        await upgrade(settings.resolved_database_url)
        params = validate(MerchantCreateParams, raw)
        state = build_gateway(settings)
        try:
            async with state.sessions.begin() as session:
                merchant, issued = await service.register(
                    session, params, key_secret=state.key_secret
                )
                return with_keys(render_account(merchant, livemode=False), issued, state.key_secret)
        finally:
            await state.aclose()

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
    from sbtc_gateway.core.errors import GatewayError
    from sbtc_gateway.merchants import service
    from sbtc_gateway.merchants.schemas import render_account, with_keys
    from sbtc_gateway.runtime.container import build_gateway

    settings = _settings()
    if not settings.live:
        raise click.ClickException(
            "this gateway runs in test mode; live keys need SBTC_MODE=live and its secrets"
        )

    async def _main() -> dict[str, Any]:
        state = build_gateway(settings)
        try:
            async with state.sessions.begin() as session:
                merchant, issued = await service.activate(
                    session, merchant_id, live_stacks_address, key_secret=state.key_secret
                )
                return with_keys(render_account(merchant, livemode=True), issued, state.key_secret)
        finally:
            await state.aclose()

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
