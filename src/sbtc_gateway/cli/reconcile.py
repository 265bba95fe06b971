"""`sbtc-gateway reconcile`: the ledger against the chain, now (the worker also does it)."""

from __future__ import annotations

import asyncio
import json

import click

from sbtc_gateway.cli.base import _settings, main


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def reconcile(as_json: bool) -> None:
    """Compare the ledger with each network's contract: the fees it holds, and what each
    merchant principal received. Exits 1 when they differ."""
    from sbtc_gateway.core.logging import configure_logging
    from sbtc_gateway.runtime.container import build_gateway
    from sbtc_gateway.runtime.worker import reconcile_books

    settings = _settings()
    configure_logging("WARNING", json=settings.log_json)

    async def _main() -> list[dict[str, object]]:
        state = build_gateway(settings)
        try:
            return [report.as_dict() for report in await reconcile_books(state)]
        finally:
            await state.aclose()

    reports = asyncio.run(_main())
    if as_json:
        click.echo(json.dumps(reports, indent=2))
    else:
        for report in reports:
            _print(report)
    if any(not report["ok"] for report in reports):
        raise SystemExit(1)


def _print(report: dict[str, object]) -> None:
    state = "in step" if report["ok"] else "DIFFERENT"
    lag = "" if report["settled"] else " (the watcher is behind the tip: re-run when it catches up)"
    click.echo(
        f"{report['network']} {report['contract_id']}: {state}, {report['checked']} balances "
        f"checked at tip {report['tip_height']}, watcher at {report['watcher_height']}{lag}"
    )
    differences = report["differences"]
    assert isinstance(differences, list)
    for difference in differences:
        who = difference["principal"] or "the contract's pending fees"
        click.echo(
            f"  {difference['kind']} {who}: ledger {difference['ledger']}, chain "
            f"{difference['chain']} (chain - ledger = {difference['sats']} sats)"
        )
