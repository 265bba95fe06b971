"""The `sbtc-gateway` command line: one module per command group.

`base.main` is the group; importing each module registers its commands.
"""

from sbtc_gateway.cli import (
    analytics,
    chain,
    database,
    devnet,
    listen,
    merchants,
    operators,
    reconcile,
    serve,
)
from sbtc_gateway.cli.base import main

__all__ = [
    "analytics",
    "chain",
    "database",
    "devnet",
    "listen",
    "main",
    "merchants",
    "operators",
    "reconcile",
    "serve",
]
