"""`sbtc-gateway analytics …`: rebuild the analytics tables from events and the ledger."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import click

from sbtc_gateway.cli.base import _settings, main


def _since(value: str | None) -> int | None:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        day = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("a date (2026-11-01), a datetime or unix seconds") from None
    return int((day if day.tzinfo else day.replace(tzinfo=UTC)).timestamp())


@main.group()
def analytics() -> None:
    """The analytics tables (payment_events, daily_metrics and their rollups)."""


@analytics.command("rebuild")
@click.option("--merchant", default=None, help="Only this merchant (acct_…); default: all.")
@click.option("--since", default=None, help="From this UTC date or unix time; default: all.")
@click.option("--json", "as_json", is_flag=True, help="Print what was rebuilt as JSON.")
def analytics_rebuild(merchant: str | None, since: str | None, as_json: bool) -> None:
    """Recompute the analytics rows from events and the ledger. The same rows as the worker's
    consumer writes, so it can run while workers do (each chunk holds the merchant's lock)."""
    from sbtc_gateway.analytics.rebuild import rebuild
    from sbtc_gateway.core.logging import configure_logging
    from sbtc_gateway.runtime.container import build_gateway
    from sbtc_gateway.runtime.worker import consume_analytics

    settings = _settings()
    configure_logging("WARNING", json=settings.log_json)
    start = _since(since)

    async def _main() -> list[dict[str, object]]:
        state = build_gateway(settings)
        try:
            await consume_analytics(state)  # what the outbox still holds, first
            reports = await rebuild(state.sessions, merchant_id=merchant, since=start)
            return [vars(r) for r in reports]
        finally:
            await state.aclose()

    reports = asyncio.run(_main())
    if as_json:
        click.echo(json.dumps(reports, indent=2))
        return
    for r in reports:
        click.echo(
            f"{r['merchant_id']}: {r['events']} events, {r['payments']} payments, "
            f"{r['days']} days rebuilt"
        )
