"""Monthly range partitions of the fast-growing tables on PostgreSQL, and retention by dropping
whole partitions (ADR 0014).

`events` (the outbox: every state change) and `webhook_attempts` (the delivery log: one row per
HTTP attempt) are partitioned by `created` (unix seconds) into UTC calendar months, plus a
DEFAULT partition that only catches a row outside every month (a clock far off). Migration 0007o
converts them; the worker keeps `MONTHS_AHEAD` months ready and drops months that ended before
the retention window (SBTC_EVENT_RETENTION_DAYS) — a DROP TABLE of one partition, instead of a
DELETE that would rewrite and bloat the table. A table yet to come that grows as fast (request
logs, analytics events) joins `PARTITIONED` and the migration that creates it calls
`convert_to_partitioned`.

The primary key of a partitioned table must contain the partition key: it becomes
(id, created). Ids are ULIDs made by the gateway, unique by construction; nothing may reference
these tables by a foreign key (the deliveries of an event name it by id). SQLite has no
partitions: everything here is a no-op there, and SQLite keeps its rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

# table -> (its indexes as the models declare them, its foreign keys)
PARTITIONED: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "events": (
        {
            "ix_events_scope_id": "(merchant_id, livemode, id)",
            "ix_events_object": "(object_id)",
            "ix_events_fanout": "(fanout_pending, id)",
        },
        {"fk_events_merchant_id_merchants": "(merchant_id) REFERENCES merchants (id)"},
    ),
    "webhook_attempts": (
        {
            "ix_webhook_attempts_endpoint": "(endpoint_id, id)",
            "ix_webhook_attempts_event": "(event_id)",
        },
        {
            "fk_webhook_attempts_delivery_id_webhook_deliveries": (
                "(delivery_id) REFERENCES webhook_deliveries (id)"
            )
        },
    ),
}
MONTHS_AHEAD = 2
CHILD = re.compile(rf"^({'|'.join(PARTITIONED)})_(p\d{{6}}|default)$")
BOUND = re.compile(r"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")


def month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _add_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=1)


def partition_name(table: str, start: datetime) -> str:
    return f"{table}_p{start:%Y%m}"


@dataclass(frozen=True)
class Partition:
    name: str
    lower: int | None  # None: the DEFAULT partition
    upper: int | None


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's autogenerate filter: a partition is storage of its parent, not a table of the
    models (reflection lists them as tables, with copies of the parent's indexes)."""
    if type_ == "table" and name is not None:
        return not CHILD.match(name)
    return True


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def is_partitioned(conn: Connection, table: str) -> bool:
    found = conn.execute(
        text("SELECT c.relkind = 'p' FROM pg_class c WHERE c.oid = to_regclass(:t)"),
        {"t": table},
    ).scalar()
    return bool(found)


def partitions(conn: Connection, table: str) -> list[Partition]:
    rows = conn.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(:t) "
            "ORDER BY c.relname"
        ),
        {"t": table},
    ).all()
    found = []
    for name, bound in rows:
        match = BOUND.search(bound or "")
        if match:
            found.append(Partition(name, int(match.group(1)), int(match.group(2))))
        else:
            found.append(Partition(name, None, None))
    return found


def create_month(
    conn: Connection, table: str, start: datetime, *, parent: str | None = None
) -> str:
    """The partition of the month that starts at `start` (idempotent)."""
    name = partition_name(table, start)
    lower, upper = int(start.timestamp()), int(_add_month(start).timestamp())
    conn.execute(
        text(
            f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF "{parent or table}" '
            f"FOR VALUES FROM ({lower}) TO ({upper})"
        )
    )
    return name


def convert_to_partitioned(conn: Connection, table: str, *, now: datetime | None = None) -> None:
    """Rebuild `table` as a partitioned table with the same columns, rows, indexes and keys."""
    if not is_postgres(conn) or is_partitioned(conn, table):
        return
    indexes, foreign_keys = PARTITIONED[table]
    now = now or datetime.now(UTC)
    new = f"{table}_partitioned"
    conn.execute(
        text(
            f'CREATE TABLE "{new}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING GENERATED) '
            "PARTITION BY RANGE (created)"
        )
    )
    oldest = conn.execute(text(f'SELECT min(created) FROM "{table}"')).scalar()  # noqa: S608  # nosec B608
    start = month_start(datetime.fromtimestamp(oldest, UTC) if oldest is not None else now)
    last = month_start(now)
    for _ in range(MONTHS_AHEAD):
        last = _add_month(last)
    while start <= last:
        create_month(conn, table, start, parent=new)
        start = _add_month(start)
    conn.execute(text(f'CREATE TABLE "{table}_default" PARTITION OF "{new}" DEFAULT'))
    conn.execute(text(f'INSERT INTO "{new}" SELECT * FROM "{table}"'))  # noqa: S608  # nosec B608
    conn.execute(text(f'DROP TABLE "{table}"'))
    conn.execute(text(f'ALTER TABLE "{new}" RENAME TO "{table}"'))
    alter = f'ALTER TABLE "{table}" ADD CONSTRAINT'
    conn.execute(text(f'{alter} "pk_{table}" PRIMARY KEY (id, created)'))
    for name, columns in indexes.items():
        conn.execute(text(f'CREATE INDEX "{name}" ON "{table}" {columns}'))
    for name, definition in foreign_keys.items():
        conn.execute(text(f'{alter} "{name}" FOREIGN KEY {definition}'))


@dataclass
class Maintenance:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    deliveries_purged: int = 0


def maintain(conn: Connection, *, retention_days: int, now: datetime | None = None) -> Maintenance:
    """Create the coming months' partitions; drop the months that ended before the window.

    Run in one short transaction with a lock timeout (creating or dropping a partition locks
    the parent for a moment): a busy table makes it fail and the next run tries again. The
    deliveries of events about to be dropped go first, once their attempts are gone."""
    done = Maintenance()
    if not is_postgres(conn):
        return done
    now = now or datetime.now(UTC)
    conn.execute(text("SET LOCAL lock_timeout = '1s'"))
    cutoff = int(now.timestamp()) - retention_days * 86400
    for table in PARTITIONED:
        if not is_partitioned(conn, table):
            continue
        have = {p.name for p in partitions(conn, table)}
        start = month_start(now)
        for _ in range(MONTHS_AHEAD + 1):
            if partition_name(table, start) not in have:
                done.created.append(create_month(conn, table, start))
            start = _add_month(start)
    if retention_days <= 0:
        return done
    for partition in partitions(conn, "webhook_attempts"):
        if partition.upper is not None and partition.upper <= cutoff:
            conn.execute(text(f'DROP TABLE "{partition.name}"'))
            done.dropped.append(partition.name)
    old_events = [
        p for p in partitions(conn, "events") if p.upper is not None and p.upper <= cutoff
    ]
    if old_events:
        purged = conn.execute(
            text(
                "DELETE FROM webhook_deliveries d WHERE d.created < :cutoff AND NOT EXISTS "
                "(SELECT 1 FROM webhook_attempts a WHERE a.event_id = d.event_id "
                "AND a.delivery_id = d.id)"
            ),
            {"cutoff": cutoff},
        )
        done.deliveries_purged = int(purged.rowcount or 0)
    for partition in old_events:
        conn.execute(text(f'DROP TABLE "{partition.name}"'))
        done.dropped.append(partition.name)
    return done
