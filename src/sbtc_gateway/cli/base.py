"""The `sbtc-gateway` command group and what every command shares."""

from __future__ import annotations

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
