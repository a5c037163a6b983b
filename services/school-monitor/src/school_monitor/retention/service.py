"""Upkeep of the raw rows' storage, run by every background round.

PostgreSQL (`measurements` and `pings` partitioned by month, see the migration of
2026-12-01):
- the monthly partitions an accepted item can fall in, and `partitions_ahead_months`
  more, are created when missing. A DEFAULT partition catches a row for a month that is
  missing all the same (upkeep stopped for months, or the acceptance window widened), so
  ingestion never fails for it; when its month is then created, those rows are moved out
  of the DEFAULT partition in the same transaction (PostgreSQL refuses to create a
  partition whose rows sit in the DEFAULT one). The price of that safety net: creating a
  partition scans the DEFAULT partition, which is why it must stay empty (it is, while
  upkeep runs);
- with `raw_retention_months`, whole partitions past the retention are dropped (the
  rollups, the country counters and the schools' status columns are other tables and stay);
- UUID keys older than the acceptance window are deleted in bounded batches, each in its
  own short transaction.
Creating and dropping a partition locks its parent table (ACCESS EXCLUSIVE) until the
transaction ends, and ingest statements on that table queue behind the DDL while it waits:
so each table's DDL runs in a short transaction of its own, waits at most
`DDL_LOCK_TIMEOUT` for the transactions under way (a long `rollups verify` among them) and
is tried again next round otherwise. Near a month boundary ingestion can therefore be held
up for that long, once per table and round; moving rows out of the DEFAULT partition
(empty while upkeep runs) adds to it. The DDL runs under a transaction-level advisory lock:
one replica at a time. A table whose DDL fails is logged and left for the next round; the
other table and the key pruning go on.

SQLite (one table per kind): no partitions and no keys; with `raw_retention_months`, raw
rows past the retention are deleted in bounded batches, oldest stored first.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.db import Database, claim_write_lock, utcnow
from c2r_common.singleton import try_lock_for_transaction
from c2r_common.transient import is_transient
from school_monitor.bulk import sqlite_datetime
from school_monitor.config import SchoolMonitorSettings
from school_monitor.ingestion.writer import MEASUREMENTS, PINGS, BulkTable
from school_monitor.retention import rules
from school_monitor.retention.rules import Month

logger = logging.getLogger("school_monitor.retention")

TABLES = (MEASUREMENTS, PINGS)
DDL_LOCK_TIMEOUT = "2s"
UPKEEP_LOCK = "school-monitor:partition-upkeep"  # the DDL, one replica at a time
KEY_PRUNE_BATCH_ROWS = 10_000
SQLITE_SCAN_ROWS = 10_000
BATCHES_PER_ROUND = 20  # per table: 200,000 rows a round, far above a day's share


@dataclass
class UpkeepReport:
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    moved_from_default: int = 0
    keys_pruned: int = 0
    rows_deleted: int = 0  # SQLite, and PostgreSQL's DEFAULT partitions


def compared_with_the_models(name: str | None, kind: str, _parents: dict[str, Any]) -> bool:
    """Alembic's include_name: the partitions are made here, not by the models, so that
    `alembic check` compares the partitioned tables alone."""
    is_partition = any(rules.is_partition_name(name or "", table.name) for table in TABLES)
    return not (kind == "table" and is_partition)


def _rowcount(result: Any) -> int:
    return int(cast(CursorResult[Any], result).rowcount)


def default_partition(table: BulkTable) -> str:
    return f"{table.name}_default"


async def maintain_storage(
    database: Database, settings: SchoolMonitorSettings, now: datetime | None = None
) -> UpkeepReport:
    """One round of upkeep; `now` is the clock (tests move it)."""
    now = now or utcnow()
    report = UpkeepReport()
    max_age = timedelta(days=settings.max_measurement_age_days)
    cutoff = rules.raw_cutoff(now, settings.raw_retention_months, max_age)
    if database.engine.dialect.name != "postgresql":
        if cutoff is not None:
            for table in TABLES:
                report.rows_deleted += await _delete_old_sqlite_rows(database, table, cutoff)
        return report
    months = rules.months_needed(now, max_age, settings.partitions_ahead_months)
    for table in TABLES:
        try:
            await _partition_ddl(database, table, months, cutoff, report)
        except DBAPIError as failure:
            # One table's DDL failing must not stop the other's, nor the key pruning.
            if is_transient(failure):
                logger.warning("%s: partition upkeep postponed: %s", table.name, failure.orig)
            else:
                logger.exception("%s: partition upkeep failed", table.name)
    key_cutoff = rules.key_cutoff(now, max_age)
    for table in TABLES:
        report.keys_pruned += await _prune_all_keys(database, table, key_cutoff)
    return report


async def _partition_ddl(
    database: Database,
    table: BulkTable,
    months: list[Month],
    cutoff: datetime | None,
    report: UpkeepReport,
) -> None:
    """One table's partitions created and dropped in a short transaction of its own: its
    ACCESS EXCLUSIVE lock is held only that long, and never together with the other's."""
    async with database.sessionmaker() as session:
        if not await try_lock_for_transaction(session, UPKEEP_LOCK):
            return  # another replica is at it
        await session.execute(text(f"SET LOCAL lock_timeout = '{DDL_LOCK_TIMEOUT}'"))
        await ensure_partitions(session, table, months, report)
        await drop_expired_partitions(session, table, cutoff, report)
        await session.commit()


async def partitions_of(session: AsyncSession, table: BulkTable) -> set[str]:
    """The names of the partitions of `table` (PostgreSQL)."""
    rows = await session.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:parent AS regclass)"
        ),
        {"parent": table.name},
    )
    return set(rows)


def _bounds(month: Month) -> str:
    return f"FOR VALUES FROM ('{month.start.isoformat()}') TO ('{month.end.isoformat()}')"


async def ensure_partitions(
    session: AsyncSession, table: BulkTable, months: list[Month], report: UpkeepReport
) -> None:
    """Creates the partitions of `months` that `table` lacks (idempotent)."""
    existing = await partitions_of(session, table)
    for month in months:
        name = month.partition_name(table.name)
        if name in existing:
            continue
        has_default = default_partition(table) in existing
        moved = await _create_partition(session, table, month, has_default)
        report.created.append(name)
        report.moved_from_default += moved


async def _create_partition(
    session: AsyncSession, table: BulkTable, month: Month, has_default: bool
) -> int:
    """Creates the partition of `month`, moving its rows out of the DEFAULT partition if
    any are there; how many were moved."""
    name, moment = month.partition_name(table.name), table.moment_column
    default = default_partition(table)
    in_month = f"{moment} >= '{month.start.isoformat()}' AND {moment} < '{month.end.isoformat()}'"
    if not has_default or not await session.scalar(
        text(f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {in_month})")
    ):
        await session.execute(
            text(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table.name} {_bounds(month)}")
        )
        return 0
    # The table is built detached, filled from the DEFAULT partition, then attached:
    # ATTACH creates the parent's indexes and foreign key on it.
    await session.execute(text(f"CREATE TABLE {name} (LIKE {table.name} INCLUDING DEFAULTS)"))
    moved = await session.execute(
        text(
            f"WITH moved AS (DELETE FROM {default} WHERE {in_month} RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved"
        )
    )
    await session.execute(
        text(f"ALTER TABLE {table.name} ATTACH PARTITION {name} {_bounds(month)}")
    )
    logger.warning("%s: %d rows moved from %s into %s", table.name, _rowcount(moved), default, name)
    return _rowcount(moved)


async def drop_expired_partitions(
    session: AsyncSession, table: BulkTable, cutoff: datetime | None, report: UpkeepReport
) -> None:
    """Drops the monthly partitions of `table` that end before `cutoff`, and deletes the
    rows before it from the DEFAULT partition."""
    if cutoff is None:
        return
    existing = await partitions_of(session, table)
    for name in sorted(existing):
        month = rules.parse_partition_name(name, table.name)
        if month is not None and rules.is_expired(month, cutoff):
            await session.execute(text(f"DROP TABLE {name}"))
            report.dropped.append(name)
    if default_partition(table) in existing:
        deleted = await session.execute(
            text(f"DELETE FROM {default_partition(table)} WHERE {table.moment_column} < :cutoff"),
            {"cutoff": cutoff},
        )
        report.rows_deleted += _rowcount(deleted)


async def prune_keys(
    session: AsyncSession, table: BulkTable, cutoff: datetime, limit: int = KEY_PRUNE_BATCH_ROWS
) -> int:
    """Deletes up to `limit` of the oldest UUID keys stored before `cutoff`; how many."""
    deleted = await session.execute(
        text(
            f"DELETE FROM {table.key_table} WHERE uuid IN (SELECT uuid FROM {table.key_table} "
            "WHERE stored_at < :cutoff ORDER BY stored_at LIMIT :limit)"
        ),
        {"cutoff": cutoff, "limit": limit},
    )
    return _rowcount(deleted)


async def _prune_all_keys(database: Database, table: BulkTable, cutoff: datetime) -> int:
    return await _in_batches(database, lambda session: prune_keys(session, table, cutoff))


async def delete_old_sqlite_rows(
    session: AsyncSession, table: BulkTable, cutoff: datetime, scan: int = SQLITE_SCAN_ROWS
) -> int:
    """Deletes, among the `scan` rows stored first, those whose moment is before `cutoff`.

    Rows go in roughly in the order of their moments (an accepted moment is at most the
    acceptance window before its storage), so the oldest rows come first in rowid order:
    a bounded scan from the start of the table, no index on the moment needed. A row at
    the start that is not old yet holds the others back by at most that window.
    """
    await claim_write_lock(session)
    deleted = await session.execute(
        text(
            f"DELETE FROM {table.name} WHERE rowid IN (SELECT rowid FROM (SELECT rowid, "
            f"{table.moment_column} AS moment FROM {table.name} ORDER BY rowid LIMIT :scan) "
            "WHERE moment < :cutoff)"
        ),
        {"scan": scan, "cutoff": sqlite_datetime(cutoff)},
    )
    return _rowcount(deleted)


async def _delete_old_sqlite_rows(database: Database, table: BulkTable, cutoff: datetime) -> int:
    return await _in_batches(
        database, lambda session: delete_old_sqlite_rows(session, table, cutoff)
    )


async def _in_batches(database: Database, batch: Callable[[AsyncSession], Awaitable[int]]) -> int:
    """Runs `batch` (a bounded delete) in short transactions of its own, until one deletes
    nothing or BATCHES_PER_ROUND have run; the rows deleted in all."""
    total = 0
    for _ in range(BATCHES_PER_ROUND):
        async with database.sessionmaker() as session:
            deleted = await batch(session)
            await session.commit()
        total += deleted
        if deleted == 0:
            break
    return total
