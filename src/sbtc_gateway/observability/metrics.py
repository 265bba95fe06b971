"""Prometheus metrics: every metric object of the gateway, in one place.

Objects live on prometheus-client's default registry, so `/metrics` on any process shows them.
`sbtc-gateway api --workers N` runs prometheus-client's multiprocess mode (each worker writes
its samples under PROMETHEUS_MULTIPROC_DIR and `/metrics` on any worker adds them up; gauges say
below how they combine); `worker` and `watcher` serve their own `/metrics` on `--metrics-port`.
Label values are bounded: route templates (never raw paths), status codes, event types, policy
names.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from sbtc_gateway import __version__

HTTP_LATENCY = Histogram(
    "sbtc_http_request_duration_seconds",
    "HTTP request latency by route template, method and status",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_IN_FLIGHT = Gauge(
    "sbtc_http_requests_in_flight", "HTTP requests being served", multiprocess_mode="livesum"
)

EVENTS = Counter(
    "sbtc_events_total",
    "Committed events by type (payment_intent.succeeded, payment_intent.canceled, …)",
    ["type"],
)
PAYMENT_INTENTS = Counter(
    "sbtc_payment_intents_total",
    "PaymentIntents reaching a status (counted once the change is committed)",
    ["status", "livemode"],
)

PAYMENT_VOLUME = Counter(
    "sbtc_payment_volume_sats_total", "Satoshis of succeeded PaymentIntents", ["livemode"]
)
PAYMENT_AMOUNT = Histogram(
    "sbtc_payment_amount_sats",
    "Amounts of succeeded PaymentIntents, in satoshis",
    buckets=(10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000),
)
MERCHANT_SIGNUPS = Counter("sbtc_merchant_signups_total", "Merchants signed up through the API")

BUILD_INFO = Gauge(
    "sbtc_build_info",
    "Always 1; the version label changes on deployment",
    ["version"],
    multiprocess_mode="max",
)
BUILD_INFO.labels(__version__).set(1)

RATE_LIMITED = Counter(
    "sbtc_rate_limit_rejections_total", "Requests refused with 429, by policy", ["policy"]
)

REDIS_DEGRADED = Gauge(
    "sbtc_redis_degraded",
    "1 while Redis is unreachable and in-process fallbacks are in use",
    multiprocess_mode="livemax",
)
REDIS_ERRORS = Counter(
    "sbtc_redis_errors_total", "Redis calls that failed (then served by a fallback)", ["operation"]
)
CACHE_REQUESTS = Counter(
    "sbtc_cache_requests_total", "Cache look-ups by cache and result", ["cache", "result"]
)

# Hooks for other parts of the gateway (webhook delivery, chain watcher, outbox worker).
WEBHOOK_DELIVERIES = Counter(
    "sbtc_webhook_deliveries_total",
    "Webhook delivery attempts by outcome (succeeded, failed, timeout, gave_up)",
    ["outcome"],
)
WEBHOOK_LATENCY = Histogram(
    "sbtc_webhook_delivery_duration_seconds", "Time for a webhook endpoint to answer"
)
CHAIN_LAG_BLOCKS = Gauge(
    "sbtc_chain_lag_blocks",
    "Blocks between the chain tip and the watcher's position",
    ["network"],
    multiprocess_mode="livemax",
)
CHAIN_NOT_FOLLOWED = Gauge(
    "sbtc_chain_not_followed",
    "1 while the Stacks API serves another chain than the watcher's cursor is on (ADR 0202)",
    ["network"],
    multiprocess_mode="livemax",
)
CHAIN_REFUSED_ROUNDS = Counter(
    "sbtc_chain_refused_rounds_total",
    "Watcher rounds that followed nothing: the Stacks API serves another chain",
    ["network"],
)
LEDGER_DIFFERENCE = Gauge(
    "sbtc_ledger_difference_sats",
    "Sats by which the ledger and the contract disagree at the last reconciliation",
    ["network", "kind"],
    multiprocess_mode="livemax",
)
LEDGER_RECONCILED = Gauge(
    "sbtc_ledger_reconciled_timestamp_seconds",
    "When the ledger was last reconciled with the chain",
    ["network"],
    multiprocess_mode="livemax",
)
CHAIN_API_UP = Gauge(
    "sbtc_chain_api_up",
    "1 when the Stacks API of a network answered the last readiness check",
    ["network"],
    multiprocess_mode="livemin",
)
OUTBOX_DEPTH = Gauge(
    "sbtc_outbox_depth", "Webhook deliveries still to make", multiprocess_mode="livemax"
)
DB_ERRORS = Counter(
    "sbtc_db_errors_total", "Database connection or query failures seen by the API", ["where"]
)


def count_database_failure(exc: BaseException, where: str) -> None:
    """Count `exc` in `sbtc_db_errors_total` if it is the database failing (connection lost,
    refused, server gone), not a bug in a query."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        DB_ERRORS.labels(where).inc()


# Disaster recovery (db/verify.py writes backup_checks; the worker exports them) and WAL
# archiving (pg_stat_archiver, read by the worker).
BACKUP_VERIFIED = Gauge(
    "sbtc_backup_verified_timestamp_seconds",
    "When a restore of the newest base backup plus the archived WAL last passed its check",
    multiprocess_mode="max",
)
BACKUP_VERIFICATION_OK = Gauge(
    "sbtc_backup_verification_ok",
    "1 if the latest restore check passed, 0 if it failed (no check yet: absent)",
    multiprocess_mode="min",
)
BACKUP_RESTORE_SECONDS = Gauge(
    "sbtc_backup_restore_seconds",
    "Unpack + WAL replay + promotion time of the latest restore check (the measured RTO)",
    multiprocess_mode="max",
)
WAL_ARCHIVE_FAILING = Gauge(
    "sbtc_wal_archive_failing",
    "1 while PostgreSQL's latest WAL archive attempt failed (pg_stat_archiver)",
    multiprocess_mode="max",
)
WAL_ARCHIVED = Gauge(
    "sbtc_wal_archived_timestamp_seconds",
    "When PostgreSQL last archived a WAL segment (pg_stat_archiver)",
    multiprocess_mode="max",
)
PARTITIONS_DROPPED = Counter(
    "sbtc_partitions_dropped_total",
    "Monthly partitions dropped past the retention window, by table",
    ["table"],
)
