"""chain watcher: cursor, seen blocks, event inbox; refunds; on-chain columns of payment_intents

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "chain_cursors",
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("height", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("network", name=op.f("pk_chain_cursors")),
    )
    op.create_table(
        "chain_blocks",
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("height", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=66), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("network", "height", name=op.f("pk_chain_blocks")),
    )
    op.create_table(
        "chain_inbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("txid", sa.String(length=66), nullable=False),
        sa.Column("event_index", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("block_height", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(length=66), nullable=True),
        sa.Column("intent_id", sa.String(length=36), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_inbox")),
        sa.UniqueConstraint("network", "txid", "event_index", name="uq_chain_inbox_event"),
    )
    with op.batch_alter_table("chain_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_chain_inbox_intent", ["intent_id"], unique=False)
        batch_op.create_index("ix_chain_inbox_block", ["network", "block_height"], unique=False)
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("merchant_id", sa.String(length=36), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=36), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("next_action", JSON, nullable=True),
        sa.Column("txid", sa.String(length=66), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_refunds_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["payment_intent_id"],
            ["payment_intents.id"],
            name=op.f("fk_refunds_payment_intent_id_payment_intents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_refunds_scope_id", ["merchant_id", "livemode", "id"], unique=False
        )
        batch_op.create_index("ix_refunds_intent", ["payment_intent_id"], unique=False)
    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at_block", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("block_height", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("block_hash", sa.String(length=66), nullable=True))
        batch_op.add_column(sa.Column("succeeded_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("fee_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("fee_txid", sa.String(length=66), nullable=True))
        batch_op.create_index("ix_payment_intents_txid", ["txid"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payment_intents", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_intents_txid")
        batch_op.drop_column("fee_txid")
        batch_op.drop_column("fee_status")
        batch_op.drop_column("succeeded_at")
        batch_op.drop_column("block_hash")
        batch_op.drop_column("block_height")
        batch_op.drop_column("expires_at_block")
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_refunds_intent")
        batch_op.drop_index("ix_refunds_scope_id")
    op.drop_table("refunds")
    with op.batch_alter_table("chain_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_chain_inbox_block")
        batch_op.drop_index("ix_chain_inbox_intent")
    op.drop_table("chain_inbox")
    op.drop_table("chain_blocks")
    op.drop_table("chain_cursors")
