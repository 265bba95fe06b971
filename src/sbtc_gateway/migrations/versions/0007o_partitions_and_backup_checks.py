"""monthly partitions of events and webhook_attempts (PostgreSQL), backup_checks

Revision ID: 0007o
Revises: 0006
Create Date: 2026-12-01 18:00:00

PostgreSQL: `events` and `webhook_attempts` become range-partitioned by `created` (UTC months,
db/partitions.py, ADR 0014); the deliveries' foreign key to events goes (a key to a partitioned
table must include its partition column). SQLite has no partitions: there only the foreign key
goes, so both databases match the models. Both get `backup_checks` (db/verify.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sbtc_gateway.db import partitions

revision: str = "0007o"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_webhook_deliveries_event_id_events"


def upgrade() -> None:
    op.create_table(
        "backup_checks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False,
                  autoincrement=True),
        sa.Column("backup_label", sa.String(length=64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.String(length=64), nullable=True),
        sa.Column("rows", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"),
                  nullable=False),
        sa.Column("restore_ms", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_checks")),
    )  # fmt: skip
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        with op.batch_alter_table("webhook_deliveries") as batch:
            batch.drop_constraint(FK, type_="foreignkey")
        return
    op.drop_constraint(FK, "webhook_deliveries", type_="foreignkey")
    for table in partitions.PARTITIONED:
        partitions.convert_to_partitioned(bind, table)


def downgrade() -> None:
    op.drop_table("backup_checks")
    # partitioned tables stay partitioned: the rows are the same, only their storage differs
    op.create_foreign_key(FK, "webhook_deliveries", "events", ["event_id"], ["id"])
