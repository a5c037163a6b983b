"""Every statement of the ingestion pipeline, and the one lock order they follow.

Concurrent transactions (batches, group commits, the offline sweep, several replicas)
lock rows in the same order, so that they queue instead of deadlocking:

1. the schools' rows, by id, at the start (`lock_school_states`), before anything is
   written: every later write of a school's data happens under its row lock;
2. the new raw rows, by UUID (`insert_new`), then their data-quality flags (new rows of
   the new raw rows only), then the agents' rows (last seen): an agent pushes for its one
   school, already locked in step 1;
3. the schools' own derived rows: school_daily by (school, day), the schools' status
   columns, the alerts;
4. last, the countries' rows, shared by every transaction of a country: country_daily by
   (country, day), then country_stats by country. A concurrent transaction waits for
   them only at its very end.

`write_deltas` writes steps 3 and 4 in that order; each statement sorts its rows
(`in_lock_order`). The statements take their column lists from the ORM tables.
"""

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property, partial
from operator import attrgetter
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.db import after_commit, utcnow
from school_monitor.bulk import BulkStatement, Columns, column_types, converted, sqlite_driver
from school_monitor.ingestion.derive import (
    FIGURES,
    MAXIMA,
    MINIMA,
    STATE_COLUMNS,
    SUMMED,
    CountryDay,
    DayFigures,
    Deltas,
    RollupBatch,
    SchoolState,
    StatsDelta,
    StatusChanges,
    country_days,
)
from school_monitor.measurements.models import Measurement, MeasurementFlag, Ping
from school_monitor.metrics import ALERTS_RAISED
from school_monitor.rollups.models import CountryDaily, CountryStats, SchoolDaily
from school_monitor.schools.models import School
from school_monitor.status.models import Alert
from school_monitor.upsert import dialect_name, table_of

Key = TypeVar("Key", bound=Any)


def in_lock_order(keys: Iterable[Key]) -> list[Key]:
    """The rows' keys in the order every transaction locks them: ascending."""
    return sorted(keys)


# 0. The transaction's time. On PostgreSQL the database's clock read inside the
# transaction, so never earlier than its start, the xact_start that pg_stat_activity shows
# while it is open; and the transaction names itself there (`INGESTING`, for as long as it
# runs). Every row a transaction stores is received at that time, so a reader knows that
# the rows received before the oldest ingesting transaction began are all committed (the
# Giga Maps pull, school_monitor.gigameter.pull). SQLite's writers take the time under the
# write lock, one after the other: the rows commit in the order of their time.
INGESTING = "c2r-school-monitor-ingesting"
# The name first, then the time: a reader that does not see the name yet reads its own
# time earlier than this one.
_TRANSACTION_TIME = (
    "SELECT clock_timestamp() FROM "
    f"(SELECT set_config('application_name', '{INGESTING}', true)) AS named"
)


async def transaction_time(db: AsyncSession) -> datetime:
    if dialect_name(db) != "postgresql":
        return utcnow()
    connection = await db.connection()
    now: datetime = (await connection.exec_driver_sql(_TRANSACTION_TIME)).scalar_one()
    return now


# 1. The schools' states. FOR NO KEY UPDATE, not FOR UPDATE: the raw rows' foreign keys
# hold KEY SHARE locks on these rows, which FOR UPDATE would wait on (and deadlock against
# another transaction). SQLite's transactions hold the whole database's write lock.
_STATE_TYPES = column_types(table_of(School), STATE_COLUMNS)
_STATE_SELECT = BulkStatement(
    f"SELECT {', '.join(_STATE_TYPES)} FROM schools "
    "WHERE id IN (SELECT id FROM {rows}) ORDER BY id{lock}",
    {"id": "uuid"},
    result_types=_STATE_TYPES,
)


async def lock_school_states(
    db: AsyncSession, school_ids: Iterable[uuid.UUID]
) -> list[SchoolState]:
    """The schools' status columns, their rows locked until the transaction ends."""
    ids = in_lock_order(set(school_ids))
    if not ids:
        return []
    return [SchoolState(*row) for row in await _STATE_SELECT.fetch(db, {"id": ids})]


# 2. The new raw rows, de-duplicated by the client's UUID. The insert differs by database:
#
# - PostgreSQL: `measurements` and `pings` are partitioned by month, and a unique index of
#   a partitioned table must hold the partition key, so the UUID alone cannot be unique
#   there. Each kind has a key table that is not partitioned (`measurement_keys`,
#   `ping_keys`: the UUID as primary key and when it was stored). One statement inserts
#   the batch's UUIDs there with ON CONFLICT (uuid) DO NOTHING, and the raw rows of the
#   UUIDs it inserted into the partitioned table; each column is one array parameter that
#   asyncpg encodes in C. The keys are kept for the acceptance window
#   (school_monitor.retention): a retry of an older item is refused as out of window
#   before it gets here.
# - SQLite: one table per kind whose primary key is the UUID. The transaction already
#   holds the database's write lock (`claim_write_lock`), so no other writer can store a
#   UUID between looking up which UUIDs are stored and inserting the others with
#   executemany (which beats one JSON parameter at this size); the inserted row count is
#   checked all the same.


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
    column_types(table_of(Measurement)),
    moment_column="measured_at",
    key_table="measurement_keys",
)
PINGS = BulkTable(
    "pings",
    column_types(table_of(Ping)),
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


_FLAG_TYPES = column_types(table_of(MeasurementFlag))
# Only a newly stored item gets its flags: a flag row can meet another transaction's only
# for a UUID whose key insert that transaction already won (step 2).
_FLAG_INSERT = BulkStatement(
    f"INSERT INTO measurement_flags ({', '.join(_FLAG_TYPES)}) "
    f"SELECT {', '.join(_FLAG_TYPES)} FROM {{rows}} WHERE true "
    "ORDER BY measurement_uuid, kind ON CONFLICT DO NOTHING",
    _FLAG_TYPES,
)


async def insert_flags(db: AsyncSession, columns: Columns) -> None:
    """Records the flags of newly stored items (one list per column of measurement_flags)."""
    if columns["measurement_uuid"]:
        await _FLAG_INSERT.fetch(db, columns)


# 3. The schools' derived rows.
def _figure_updates(table: str) -> str:
    """The SET clause adding the incoming figures (`excluded`) to a stored row."""
    sums = [f"{n} = {table}.{n} + excluded.{n}" for n in SUMMED]
    extremes = [
        # The dialect's two-argument min/max, ignoring NULL on either side.
        f"{n} = coalesce({{{function}}}({table}.{n}, excluded.{n}), {table}.{n}, excluded.{n})"
        for names, function in ((MINIMA, "least"), (MAXIMA, "greatest"))
        for n in names
    ]
    return ", ".join([*sums, *extremes])


def _upsert_adding(
    table: str, types: dict[str, str], key: str, updates: str, returning: str = ""
) -> str:
    names = ", ".join(types)
    return (
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {{rows}} WHERE true "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}{returning}"
    )


_SCHOOL_DAY_TYPES = column_types(
    table_of(SchoolDaily), ("school_id", "day", "country_iso3", *FIGURES)
)
# The total of a row after the upsert tells whether this transaction created it: a school
# is counted as reporting on a day once, by the transaction that adds its first data.
_SCHOOL_DAILY_UPSERT = BulkStatement(
    _upsert_adding(
        "school_daily",
        _SCHOOL_DAY_TYPES,
        "school_id, day",
        _figure_updates("school_daily"),
        " RETURNING school_id, day, measurement_count + ping_count",
    ),
    _SCHOOL_DAY_TYPES,
    result_types={"school_id": "uuid", "day": "date", "total": "int4"},
)
_UPDATED_STATE_TYPES = {name: kind for name, kind in _STATE_TYPES.items() if name != "country_iso3"}
# Status is not master data: `updated_at` stays the time of the last edit of the school.
_STATE_UPDATE = BulkStatement(
    f"UPDATE schools SET {', '.join(f'{n} = t.{n}' for n in _UPDATED_STATE_TYPES if n != 'id')} "
    "FROM {rows} WHERE schools.id = t.id",
    _UPDATED_STATE_TYPES,
)


def _figure_columns(figures: list[DayFigures]) -> Columns:
    return {name: [getattr(f, name) for f in figures] for name in FIGURES}


async def _upsert_school_days(db: AsyncSession, batch: RollupBatch) -> set[tuple[uuid.UUID, date]]:
    """Adds the figures to school_daily; the (school, day) rows it created."""
    if not batch.days:
        return set()
    keys = in_lock_order(batch.days)
    school_ids = [school_id for school_id, _ in keys]
    columns: Columns = {
        "school_id": school_ids,
        "day": [day for _, day in keys],
        "country_iso3": [batch.school_country[school_id] for school_id in school_ids],
    }
    figures = _figure_columns([batch.days[key] for key in keys])
    returned = await _SCHOOL_DAILY_UPSERT.fetch(db, columns | figures)
    return {
        (school_id, day)
        for school_id, day, total in returned
        if total == batch.days[(school_id, day)].data_points
    }


async def _update_schools(db: AsyncSession, changes: StatusChanges) -> None:
    """The schools' status columns, and the alerts their changes raise."""
    if changes.updates:
        updates = sorted(changes.updates, key=attrgetter("id"))  # in lock order
        columns = {name: list(map(attrgetter(name), updates)) for name in _UPDATED_STATE_TYPES}
        await _STATE_UPDATE.fetch(db, columns)
    if changes.alerts:
        connection = await db.connection()
        await connection.execute(insert(table_of(Alert)), changes.alerts)
        after_commit(db, partial(_count_alerts, changes.alerts))


def _count_alerts(alerts: list[dict[str, Any]]) -> None:
    for alert in alerts:
        ALERTS_RAISED.labels(alert["kind"]).inc()


# 4. The countries' rows.
_COUNTRY_DAY_TYPES = column_types(
    table_of(CountryDaily), ("country_iso3", "day", "schools_reporting", *FIGURES)
)
_COUNTRY_DAILY_UPSERT = BulkStatement(
    _upsert_adding(
        "country_daily",
        _COUNTRY_DAY_TYPES,
        "country_iso3, day",
        "schools_reporting = country_daily.schools_reporting + excluded.schools_reporting, "
        + _figure_updates("country_daily"),
    ),
    _COUNTRY_DAY_TYPES,
)
_STATS_COLUMNS = tuple(StatsDelta().columns())
_STATS_TYPES = column_types(table_of(CountryStats), ("country_iso3", *_STATS_COLUMNS))
_STATS_UPSERT = BulkStatement(
    _upsert_adding(
        "country_stats",
        _STATS_TYPES,
        "country_iso3",
        ", ".join(f"{n} = country_stats.{n} + excluded.{n}" for n in _STATS_COLUMNS),
    ),
    _STATS_TYPES,
)


async def _upsert_country_days(db: AsyncSession, days: list[CountryDay]) -> None:
    if not days:
        return
    days = sorted(days, key=attrgetter("country_iso3", "day"))  # in lock order
    columns: Columns = {
        "country_iso3": [d.country_iso3 for d in days],
        "day": [d.day for d in days],
        "schools_reporting": [d.new_schools_reporting for d in days],
    }
    await _COUNTRY_DAILY_UPSERT.fetch(db, columns | _figure_columns([d.figures for d in days]))


async def add_country_stats(db: AsyncSession, deltas: Mapping[str, StatsDelta]) -> None:
    """Adds each country's delta to its country_stats row (created on first use)."""
    changed = {iso3: d for iso3, d in deltas.items() if any(d.columns().values())}
    if not changed:
        return
    countries = in_lock_order(changed)
    columns: Columns = {"country_iso3": countries}
    for name in _STATS_COLUMNS:
        columns[name] = [getattr(changed[iso3], name) for iso3 in countries]
    await _STATS_UPSERT.fetch(db, columns)


async def write_deltas(db: AsyncSession, deltas: Deltas) -> None:
    """Writes a transaction's deltas in the lock order: the schools' rows, then the
    countries'."""
    first_rows = await _upsert_school_days(db, deltas.rollups)
    await _update_schools(db, deltas.status)
    await _upsert_country_days(db, country_days(deltas.rollups, first_rows))
    await add_country_stats(db, deltas.status.deltas)


async def write_status_changes(db: AsyncSession, changes: StatusChanges) -> None:
    """Writes status changes that come with no new data (the offline sweep)."""
    await write_deltas(db, Deltas(RollupBatch(), changes))
