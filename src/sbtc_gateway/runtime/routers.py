"""Every router the API serves, in the order they are mounted."""

from __future__ import annotations

from fastapi import APIRouter

from sbtc_gateway.analytics.endpoints import router as analytics
from sbtc_gateway.charges.endpoints import router as charges
from sbtc_gateway.checkout.endpoints import router as checkout
from sbtc_gateway.events.endpoints import router as events
from sbtc_gateway.ledger.endpoints import router as balance_transactions
from sbtc_gateway.merchants.endpoints import router as merchants
from sbtc_gateway.payments.endpoints import router as payments
from sbtc_gateway.platform.endpoints import router as platform
from sbtc_gateway.refunds.endpoints import router as refunds
from sbtc_gateway.reporting.endpoints import router as reporting
from sbtc_gateway.settlements.endpoints import router as settlements
from sbtc_gateway.users.endpoints import router as users
from sbtc_gateway.watcher.endpoints import router as chain_pushes
from sbtc_gateway.webhooks.endpoints import router as webhooks

ROUTERS: tuple[APIRouter, ...] = (
    merchants,
    payments,
    checkout,
    webhooks,
    refunds,
    charges,
    balance_transactions,
    settlements,
    chain_pushes,
    events,
    users,
    analytics,
    reporting,
    platform,
)
