"""Migrations (`db/migrate.py`): the migrated schema matches the models."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from sbtc_gateway.db.models import Base
from sbtc_gateway.db.partitions import include_name


async def test_migrations_match_models(app: Any) -> None:
    def diff(conn: Connection) -> list[Any]:
        # partitions (PostgreSQL, db/partitions.py) are their parent's storage, not tables
        opts = {"compare_type": True, "include_name": include_name}
        context = MigrationContext.configure(conn, opts=opts)
        return list(compare_metadata(context, Base.metadata))

    async with app.state.gateway.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []
