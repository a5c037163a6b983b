"""Bulk insert of new measurements and ping checks, de-duplicated by UUID.

Like the statements of school_monitor.bulk, these run as driver-level SQL in the
session's transaction with values already in the form the ORM stores them
in; the SQLite insert differs, because executemany beats one JSON parameter at this size:

- PostgreSQL: `measurements` and `pings` are partitioned by month, and a unique index of a
  partitioned table must hold the partition key, so the UUID alone cannot be unique there.
  Each kind has a key table that is not partitioned (`measurement_keys`, `ping_keys`:
  the UUID as primary key and when it was stored). One statement inserts the batch's
  UUIDs there with ON CONFLICT (uuid) DO NOTHING, and the raw rows of the UUIDs it
  inserted into the partitioned table; each column is one array parameter that asyncpg
  encodes in C. The keys are kept for the acceptance window (school_monitor.retention):
  a retry of an older item is refused as out of window before it gets here.
- SQLite: one table per kind whose primary key is the UUID. The transaction already holds
  the database's write lock (`claim_write_lock`), so no other writer can store a UUID
  between looking up which UUIDs are stored and inserting the others with executemany;
  the inserted row count is checked all the same.
"""

import json
import uuid
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from school_monitor.bulk import BulkStatement, Columns, converted, sqlite_driver
from school_monitor.upsert import dialect_name


@dataclass(frozen=True)
class BulkTable:
    """A table written in bulk: its name and its columns with their PostgreSQL types.

    The first column is the client's UUID, the primary key that de-duplicates.
    """

    name: str
    column_types: dict[str, str]
    moment_column: str  # the item's `moment`: when it was measured or checked; on
    # PostgreSQL the partition key
    key_table: str  # PostgreSQL: the UUIDs stored, across every partition

    @cached_property
    def postgresql_insert(self) -> BulkStatement:
        names = ", ".join(self.column_types)
        # The key insert waits for a concurrent transaction that inserted the same UUID and
        # does nothing if that one commits: exact across sessions and across months. Both
        # inserts go in UUID order, one lock order for every batch. The raw insert's own
        # ON CONFLICT (its primary key is the UUID and the moment) only guards against a
        # row whose key was pruned being offered again, which the acceptance window stops.
        return BulkStatement(
            f"WITH batch AS (SELECT * FROM {{rows}}), "
            f"new AS (INSERT INTO {self.key_table} (uuid, stored_at) "
            "SELECT uuid, received_at FROM batch ORDER BY uuid "
            "ON CONFLICT (uuid) DO NOTHING RETURNING uuid) "
            f"INSERT INTO {self.name} ({names}) SELECT {names} FROM batch "
            "WHERE uuid IN (SELECT uuid FROM new) ORDER BY uuid "
            "ON CONFLICT DO NOTHING RETURNING uuid",
            self.column_types,
            result_types={"uuid": "uuid"},
        )

    @cached_property
    def sqlite_stored_uuids(self) -> str:
        return f"SELECT uuid FROM {self.name} WHERE uuid IN (SELECT value FROM json_each(?))"

    @cached_property
    def sqlite_insert(self) -> str:
        marks = ", ".join("?" for _ in self.column_types)
        return f"INSERT INTO {self.name} ({', '.join(self.column_types)}) VALUES ({marks})"


MEASUREMENTS = BulkTable(
    "measurements",
    {
        "uuid": "uuid",
        "school_id": "uuid",
        "measured_at": "timestamptz",
        "received_at": "timestamptz",
        "download_mbps": "float8",
        "upload_mbps": "float8",
        "latency_ms": "float8",
        "jitter_ms": "float8",
        "packet_loss_pct": "float8",
        "source": "text",
        "server": "text",
        "app_version": "text",
        "agent_id": "uuid",
        "raw_result": "json",
    },
    moment_column="measured_at",
    key_table="measurement_keys",
)
PINGS = BulkTable(
    "pings",
    {
        "uuid": "uuid",
        "school_id": "uuid",
        "checked_at": "timestamptz",
        "received_at": "timestamptz",
        "is_connected": "bool",
        "latency_ms": "float8",
        "error": "text",
        "source": "text",
        "agent_id": "uuid",
    },
    moment_column="checked_at",
    key_table="ping_keys",
)


async def insert_new(db: AsyncSession, table: BulkTable, columns: Columns) -> set[uuid.UUID]:
    """Inserts the rows whose UUID is not stored yet; returns the UUIDs it inserted.

    `columns` holds one list per column of `table`, all of the same length, with no UUID
    twice.
    """
    if not columns["uuid"]:
        return set()
    dialect = dialect_name(db)
    if dialect == "postgresql":
        return {inserted for (inserted,) in await table.postgresql_insert.fetch(db, columns)}
    values = converted(dialect, table.column_types, columns)
    async with sqlite_driver(db, table.sqlite_insert) as driver:
        return await _insert_new_sqlite(driver, table, columns["uuid"], values)


async def _insert_new_sqlite(
    driver: Any, table: BulkTable, uuids: list[uuid.UUID], values: list[list[Any]]
) -> set[uuid.UUID]:
    rows = list(zip(*values, strict=True))
    keys = values[0]
    found = await driver.execute_fetchall(table.sqlite_stored_uuids, (json.dumps(keys),))
    stored_before = {key for (key,) in found}
    if stored_before:
        rows = [row for row in rows if row[0] not in stored_before]
    cursor = await driver.executemany(table.sqlite_insert, rows)
    if cursor.rowcount != len(rows):
        raise RuntimeError(f"{table.name}: {cursor.rowcount} of {len(rows)} rows inserted")
    pairs = zip(uuids, keys, strict=True)
    return {value for value, key in pairs if key not in stored_before}
