"""operator calls outbox and the operator's nonce counter

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "operator_calls",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("function", sa.String(length=40), nullable=False),
        sa.Column("intent_id", sa.String(length=36), nullable=False),
        sa.Column("contract_id", sa.String(length=170), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("fee", sa.BigInteger(), nullable=True),
        sa.Column("raw_tx", sa.Text(), nullable=True),
        sa.Column("txid", sa.String(length=66), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("leased_by", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.Column("broadcast_at", sa.BigInteger(), nullable=True),
        sa.Column("completed_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_calls")),
        sa.UniqueConstraint("network", "function", "intent_id", name="uq_operator_calls_call"),
    )
    with op.batch_alter_table("operator_calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_operator_calls_due", ["network", "status", "lease_until"], unique=False
        )
        batch_op.create_index("ix_operator_calls_txid", ["txid"], unique=False)
    op.create_table(
        "operator_nonces",
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("sender", sa.String(length=64), nullable=False),
        sa.Column("next_nonce", sa.BigInteger(), nullable=False),
        sa.Column("updated", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("network", "sender", name=op.f("pk_operator_nonces")),
    )


def downgrade() -> None:
    op.drop_table("operator_nonces")
    with op.batch_alter_table("operator_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_operator_calls_txid")
        batch_op.drop_index("ix_operator_calls_due")
    op.drop_table("operator_calls")
