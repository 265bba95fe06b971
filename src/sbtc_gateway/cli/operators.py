"""`sbtc-gateway operators …`: platform operator accounts (not merchants' users)."""

from __future__ import annotations

import asyncio

import click

from sbtc_gateway.cli.base import _settings, main


@main.group()
def operators() -> None:
    """Platform operators: who may call /v1/platform/* (from SBTC_PLATFORM_ALLOWED_IPS)."""


@operators.command("create")
@click.option("--email", required=True)
@click.option("--name", default=None)
def operators_create(email: str, name: str | None) -> None:
    """Create an operator and print its token (shown this once)."""
    from sbtc_gateway.db.migrate import upgrade
    from sbtc_gateway.platform import service
    from sbtc_gateway.runtime.container import build_gateway

    settings = _settings()

    async def _main() -> tuple[str, str]:
        await upgrade(settings.resolved_database_url)
        state = build_gateway(settings)
        try:
            async with state.sessions.begin() as session:
                operator, token = await service.create_operator(
                    session, state.key_secret, email, name
                )
            return operator.id, token
        finally:
            await state.aclose()

    try:
        operator_id, token = asyncio.run(_main())
    except Exception as exc:  # an email already used is the usual one
        raise click.ClickException(f"could not create the operator: {type(exc).__name__}") from None
    click.echo(f"{operator_id} {email}\ntoken (shown once): {token}")


@operators.command("disable")
@click.option("--email", required=True)
def operators_disable(email: str) -> None:
    """Disable an operator: its token stops working at once."""
    from sbtc_gateway.platform import service
    from sbtc_gateway.runtime.container import build_gateway

    settings = _settings()

    async def _main() -> bool:
        state = build_gateway(settings)
        try:
            async with state.sessions.begin() as session:
                return await service.disable(session, email)
        finally:
            await state.aclose()

    if not asyncio.run(_main()):
        raise click.ClickException(f"no operator {email}")
    click.echo(f"disabled {email}")
