"""charges and the ledger (balance transactions); refunds point at their charge; the intent's
client secret is derived, no longer stored

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "charges",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("merchant_id", sa.String(length=36), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=36), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("application_fee_amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_captured", sa.BigInteger(), nullable=False),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure_code", sa.String(length=64), nullable=True),
        sa.Column("failure_message", sa.Text(), nullable=True),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("txid", sa.String(length=66), nullable=False),
        sa.Column("payer", sa.String(length=64), nullable=True),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("block_height", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(length=66), nullable=True),
        sa.Column("reorged_at", sa.BigInteger(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("balance_transaction_id", sa.String(length=36), nullable=True),
        sa.Column("failure_balance_transaction_id", sa.String(length=36), nullable=True),
        sa.Column("outcome", JSON, nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_charges_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["payment_intent_id"],
            ["payment_intents.id"],
            name=op.f("fk_charges_payment_intent_id_payment_intents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charges")),
        sa.UniqueConstraint("network", "txid", name="uq_charges_network_txid"),
    )
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.create_index(
            "ix_charges_scope_id", ["merchant_id", "livemode", "id"], unique=False
        )
        batch_op.create_index("ix_charges_intent", ["payment_intent_id"], unique=False)
        batch_op.create_index("ix_charges_reorged", ["network", "reorged_at"], unique=False)

    op.create_table(
        "balance_transactions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("merchant_id", sa.String(length=36), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("reporting_category", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("fee_details", JSON, nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("available_on", sa.BigInteger(), nullable=False),
        sa.Column("principal", sa.String(length=64), nullable=True),
        sa.Column("network", sa.String(length=16), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_balance_transactions_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_transactions")),
        sa.UniqueConstraint(
            "account", "type", "source_id", "sequence", name="uq_balance_transactions_entry"
        ),
    )
    with op.batch_alter_table("balance_transactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_balance_transactions_scope_id",
            ["merchant_id", "livemode", "account", "id"],
            unique=False,
        )
        batch_op.create_index("ix_balance_transactions_source", ["source_id"], unique=False)

    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("latest_charge_id", sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column("amount_refunded", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("late_payment", JSON, nullable=True))
        batch_op.drop_column("client_secret")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("charge_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("destination", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("balance_transaction_id", sa.String(length=36), nullable=True)
        )
        batch_op.add_column(
            sa.Column("failure_balance_transaction_id", sa.String(length=36), nullable=True)
        )
        batch_op.add_column(sa.Column("reorged_at", sa.BigInteger(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_refunds_charge_id_charges"), "charges", ["charge_id"], ["id"]
        )
        batch_op.create_index("ix_refunds_charge", ["charge_id"], unique=False)
    with op.batch_alter_table("chain_inbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("object_id", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chain_inbox", schema=None) as batch_op:
        batch_op.drop_column("object_id")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_refunds_charge")
        batch_op.drop_constraint(op.f("fk_refunds_charge_id_charges"), type_="foreignkey")
        batch_op.drop_column("reorged_at")
        batch_op.drop_column("failure_balance_transaction_id")
        batch_op.drop_column("balance_transaction_id")
        batch_op.drop_column("destination")
        batch_op.drop_column("charge_id")
    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("client_secret", sa.String(length=96), server_default="", nullable=False)
        )
        batch_op.drop_column("late_payment")
        batch_op.drop_column("amount_refunded")
        batch_op.drop_column("latest_charge_id")
    with op.batch_alter_table("balance_transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_balance_transactions_source")
        batch_op.drop_index("ix_balance_transactions_scope_id")
    op.drop_table("balance_transactions")
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_index("ix_charges_reorged")
        batch_op.drop_index("ix_charges_intent")
        batch_op.drop_index("ix_charges_scope_id")
    op.drop_table("charges")
