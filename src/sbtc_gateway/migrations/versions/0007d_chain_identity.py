"""chain identity: the cursor's genesis hash, and the record of each switch to a new chain

Revision ID: 0007d
Revises: 0007o
Create Date: 2026-12-01 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007d"
down_revision: str | None = "0007c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("chain_cursors") as batch:
        batch.add_column(sa.Column("genesis_hash", sa.String(length=66), nullable=True))
    op.create_table(
        "chain_resets",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("network", sa.String(length=16), nullable=False),
        sa.Column("archive", sa.String(length=16), nullable=False),
        sa.Column("old_genesis_hash", sa.String(length=66), nullable=True),
        sa.Column("old_height", sa.BigInteger(), nullable=False),
        sa.Column("old_block_hash", sa.String(length=66), nullable=False),
        sa.Column("new_genesis_hash", sa.String(length=66), nullable=True),
        sa.Column("new_height", sa.BigInteger(), nullable=False),
        sa.Column("new_block_hash", sa.String(length=66), nullable=False),
        sa.Column("stranded", JSON, nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chain_resets")),
    )
    with op.batch_alter_table("chain_resets") as batch:
        batch.create_index("ix_chain_resets_network", ["network"], unique=False)


def downgrade() -> None:
    op.drop_table("chain_resets")
    with op.batch_alter_table("chain_cursors") as batch:
        batch.drop_column("genesis_hash")
