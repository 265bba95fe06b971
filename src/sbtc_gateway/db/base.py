"""Declarative base and column conventions.

Timestamps are integer unix seconds (BIGINT), as the API shows them; money is BIGINT satoshis;
JSON is JSONB on PostgreSQL and JSON text on SQLite.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import JSON, BigInteger, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase

JSONType = JSON().with_variant(JSONB(), "postgresql")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {
        int: BigInteger,
        dict[str, Any]: JSONType,
        list[dict[str, Any]]: JSONType,
    }


def now() -> int:
    return int(time.time())
