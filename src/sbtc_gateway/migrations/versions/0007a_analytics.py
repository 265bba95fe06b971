"""analytics (payment_events, daily_metrics and their rollups), report runs and files,
platform operators; the events' analytics outbox flag and request address

Revision ID: 0007a
Revises: 0006
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision: str = "0007a"
down_revision: str | None = "0007o"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "platform_operators",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("token_lookup", sa.String(length=32), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("disabled_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_operators")),
        sa.UniqueConstraint("email", name=op.f("uq_platform_operators_email")),
    )
    with op.batch_alter_table("platform_operators", schema=None) as batch_op:
        batch_op.create_index("ix_platform_operators_lookup", ["token_lookup"], unique=False)

    op.create_table(
        "analytics_payments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("merchant_id", sa.String(length=36), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_received", sa.BigInteger(), nullable=False),
        sa.Column("confirmed_at", sa.BigInteger(), nullable=True),
        sa.Column("processing_at", sa.BigInteger(), nullable=True),
        sa.Column("succeeded_at", sa.BigInteger(), nullable=True),
        sa.Column("canceled_at", sa.BigInteger(), nullable=True),
        sa.Column("cancellation_reason", sa.String(length=32), nullable=True),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("failed_attempts", sa.BigInteger(), nullable=False),
        sa.Column("reversals", sa.BigInteger(), nullable=False),
        sa.Column("paid_late", sa.Boolean(), nullable=False),
        sa.Column("payer", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_analytics_payments_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_payments")),
    )
    with op.batch_alter_table("analytics_payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_payments_created", ["merchant_id", "livemode", "created"], unique=False
        )
        batch_op.create_index(
            "ix_analytics_payments_payer", ["merchant_id", "livemode", "payer"], unique=False
        )
        batch_op.create_index(
            "ix_analytics_payments_succeeded",
            ["merchant_id", "livemode", "succeeded_at"],
            unique=False,
        )

    op.create_table(
        "analytics_scopes",
        sa.Column("merchant_id", sa.String(length=36), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("events_consumed", sa.BigInteger(), nullable=False),
        sa.Column("last_event_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_analytics_scopes_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("merchant_id", "livemode", name=op.f("pk_analytics_scopes")),
    )
    op.create_table(
        "daily_metrics",
        sa.Column("merchant_id", sa.String(length=36), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("day_start", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("total_volume", sa.BigInteger(), nullable=False),
        sa.Column("transaction_count", sa.BigInteger(), nullable=False),
        sa.Column("average_amount", sa.BigInteger(), nullable=False),
        sa.Column("distinct_payers", sa.BigInteger(), nullable=False),
        sa.Column("median_time_to_pay", sa.BigInteger(), nullable=True),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("fees", sa.BigInteger(), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("reversals", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("charge_count", sa.BigInteger(), nullable=False),
        sa.Column("refund_count", sa.BigInteger(), nullable=False),
        sa.Column("reversal_count", sa.BigInteger(), nullable=False),
        sa.Column("created_count", sa.BigInteger(), nullable=False),
        sa.Column("converted_count", sa.BigInteger(), nullable=False),
        sa.Column("succeeded_count", sa.BigInteger(), nullable=False),
        sa.Column("failed_count", sa.BigInteger(), nullable=False),
        sa.Column("canceled_count", sa.BigInteger(), nullable=False),
        sa.Column("expired_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_daily_metrics_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint(
            "merchant_id", "livemode", "day_start", name=op.f("pk_daily_metrics")
        ),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("merchant_id", sa.String(length=36), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_files_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index("ix_files_scope_id", ["merchant_id", "livemode", "id"], unique=False)

    op.create_table(
        "interval_metrics",
        sa.Column("merchant_id", sa.String(length=36), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("bucket_start", sa.BigInteger(), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("fees", sa.BigInteger(), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("reversals", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("charge_count", sa.BigInteger(), nullable=False),
        sa.Column("refund_count", sa.BigInteger(), nullable=False),
        sa.Column("reversal_count", sa.BigInteger(), nullable=False),
        sa.Column("created_count", sa.BigInteger(), nullable=False),
        sa.Column("converted_count", sa.BigInteger(), nullable=False),
        sa.Column("succeeded_count", sa.BigInteger(), nullable=False),
        sa.Column("failed_count", sa.BigInteger(), nullable=False),
        sa.Column("canceled_count", sa.BigInteger(), nullable=False),
        sa.Column("expired_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_interval_metrics_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint(
            "merchant_id", "livemode", "bucket_start", name=op.f("pk_interval_metrics")
        ),
    )
    op.create_table(
        "payment_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("merchant_id", sa.String(length=36), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("payment_id", sa.String(length=36), nullable=False),
        sa.Column("charge_id", sa.String(length=36), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_payment_events_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
    )
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.create_index("ix_payment_events_charge", ["charge_id"], unique=False)
        batch_op.create_index("ix_payment_events_payment", ["payment_id"], unique=False)
        batch_op.create_index(
            "ix_payment_events_scope_time", ["merchant_id", "livemode", "timestamp"], unique=False
        )

    op.create_table(
        "report_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("merchant_id", sa.String(length=36), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("report_type", sa.String(length=64), nullable=False),
        sa.Column(
            "parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result_file_id", sa.String(length=36), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("succeeded_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_report_runs_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_runs")),
    )
    with op.batch_alter_table("report_runs", schema=None) as batch_op:
        batch_op.create_index("ix_report_runs_due", ["status", "lease_until"], unique=False)
        batch_op.create_index(
            "ix_report_runs_scope_id", ["merchant_id", "livemode", "id"], unique=False
        )

    with op.batch_alter_table("balance_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_balance_transactions_scope_created",
            ["merchant_id", "livemode", "account", "created"],
            unique=False,
        )

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("analytics_pending", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch_op.add_column(sa.Column("request_ip", sa.String(length=45), nullable=True))
        batch_op.add_column(sa.Column("request_user_agent", sa.String(length=512), nullable=True))
        batch_op.create_index("ix_events_analytics", ["analytics_pending", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_analytics")
        batch_op.drop_column("request_user_agent")
        batch_op.drop_column("request_ip")
        batch_op.drop_column("analytics_pending")

    with op.batch_alter_table("balance_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_balance_transactions_scope_created")

    with op.batch_alter_table("report_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_report_runs_scope_id")
        batch_op.drop_index("ix_report_runs_due")

    op.drop_table("report_runs")
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_events_scope_time")
        batch_op.drop_index("ix_payment_events_payment")
        batch_op.drop_index("ix_payment_events_charge")

    op.drop_table("payment_events")
    op.drop_table("interval_metrics")
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index("ix_files_scope_id")

    op.drop_table("files")
    op.drop_table("daily_metrics")
    op.drop_table("analytics_scopes")
    with op.batch_alter_table("analytics_payments", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_payments_succeeded")
        batch_op.drop_index("ix_analytics_payments_payer")
        batch_op.drop_index("ix_analytics_payments_created")

    op.drop_table("analytics_payments")
    with op.batch_alter_table("platform_operators", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_operators_lookup")

    op.drop_table("platform_operators")
