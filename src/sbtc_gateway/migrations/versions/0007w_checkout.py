"""checkout: merchant branding (logo, accent colour) and the receipt e-mail outbox

Revision ID: 0007w
Revises: 0006
Create Date: 2026-12-01 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007w"
down_revision: str | None = "0007a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("logo_url", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("accent_color", sa.String(length=7), nullable=True))
    op.create_table(
        "receipt_emails",
        # one receipt per succeeded event: the event id is the natural idempotency key
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("intent_id", sa.String(length=36), nullable=False),
        sa.Column("merchant_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.BigInteger(), nullable=True),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index("ix_receipt_emails_due", "receipt_emails", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_receipt_emails_due", table_name="receipt_emails")
    op.drop_table("receipt_emails")
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("accent_color")
        batch.drop_column("logo_url")
