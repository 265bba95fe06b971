"""Imports every model so the metadata is complete (for Alembic and tests)."""

from sbtc_gateway.analytics.models import (
    AnalyticsScope,
    DailyMetrics,
    IntervalMetrics,
    PaymentEvent,
    PaymentSummary,
)
from sbtc_gateway.chainstate.models import ChainBlock, ChainCursor, ChainInboxEntry, ChainReset
from sbtc_gateway.charges.models import Charge
from sbtc_gateway.db.base import Base
from sbtc_gateway.db.checks import BackupCheck
from sbtc_gateway.events.models import Event
from sbtc_gateway.idempotency.models import IdempotencyKey
from sbtc_gateway.ledger.models import BalanceTransaction
from sbtc_gateway.merchants.models import ApiKey, Merchant
from sbtc_gateway.operator.models import OperatorCall, OperatorNonce
from sbtc_gateway.payments.models import PaymentIntent
from sbtc_gateway.platform.models import PlatformOperator
from sbtc_gateway.receipts.models import ReceiptEmail
from sbtc_gateway.refunds.models import Refund
from sbtc_gateway.reporting.models import ReportRun, StoredFile
from sbtc_gateway.users.models import RefreshToken, User
from sbtc_gateway.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AnalyticsScope",
    "ApiKey",
    "BackupCheck",
    "BalanceTransaction",
    "Base",
    "ChainBlock",
    "ChainCursor",
    "ChainInboxEntry",
    "ChainReset",
    "Charge",
    "DailyMetrics",
    "Event",
    "IdempotencyKey",
    "IntervalMetrics",
    "Merchant",
    "OperatorCall",
    "OperatorNonce",
    "PaymentEvent",
    "PaymentIntent",
    "PaymentSummary",
    "PlatformOperator",
    "ReceiptEmail",
    "RefreshToken",
    "Refund",
    "ReportRun",
    "StoredFile",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
