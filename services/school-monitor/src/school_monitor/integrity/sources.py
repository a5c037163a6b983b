"""The set-based reads behind verify and rebuild: the raw rows aggregated per school and
day, the latest data of each school, and the stored derived rows, for a chunk of schools
at a time (portable SQL: SQLite and PostgreSQL).

`since` (`figures.complete_since`, None without retention) leaves out the days before it,
of raw rows and of stored rollups alike: the retention may have removed their raw rows.
The schools' latest data is read from every raw row still there (a later one found
contradicts a stored moment, see `figures.kept_moment`)."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Select, and_, case, cast, func, select, true, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement, Label

from school_monitor.integrity.figures import (
    COUNTRY_DAY_COLUMNS,
    SCHOOL_DAY_COLUMNS,
    STATS_COLUMNS,
    STATUS_COLUMNS,
    Row,
    SchoolTruth,
    school_day,
)
from school_monitor.measurements.models import Measurement, Ping
from school_monitor.rollups.models import CountryDaily, CountryStats, SchoolDaily
from school_monitor.schools.models import School
from school_monitor.upsert import table_of

SchoolDayKey = tuple[uuid.UUID, date]
SCHOOL_DAILY = table_of(SchoolDaily)
COUNTRY_DAILY = table_of(CountryDaily)
COUNTRY_STATS = table_of(CountryStats)


def dialect_of(db: AsyncSession) -> str:
    bind = db.get_bind()
    return bind.dialect.name


def utc_day(column: Any, dialect: str) -> ColumnElement[date]:
    """The UTC day of a stored timestamp (SQLite stores 'YYYY-MM-DD HH:MM:SS' in UTC)."""
    if dialect == "sqlite":
        return type_coerce(func.substr(column, 1, 10), Date)
    return cast(func.timezone("UTC", column), Date)


def school_chunk(after: uuid.UUID | None, country: str | None, size: int) -> Select[Any]:
    """The next `size` schools by id, with their status columns."""
    statement = (
        select(School.id, School.country_iso3, *(getattr(School, name) for name in STATUS_COLUMNS))
        .order_by(School.id)
        .limit(size)
    )
    if after is not None:
        statement = statement.where(School.id > after)
    if country is not None:
        statement = statement.where(School.country_iso3 == country)
    return statement


def _from(column: Any, since: datetime | None) -> ColumnElement[bool]:
    """Moments from `since` on (every one when None): on PostgreSQL the partitions
    before it are not even scanned."""
    return true() if since is None else column >= since


def _days_from(column: Any, since: datetime | None) -> ColumnElement[bool]:
    return true() if since is None else column >= since.date()


async def expected_school_days(
    db: AsyncSession, countries: dict[uuid.UUID, str], since: datetime | None = None
) -> dict[SchoolDayKey, Row]:
    """Every school-day of these schools that has data, from `since`'s day on, as its
    row should be."""
    dialect = dialect_of(db)
    ids = list(countries)
    tests: dict[SchoolDayKey, Row] = {}
    checks: dict[SchoolDayKey, Row] = {}
    m_day = utc_day(Measurement.measured_at, dialect).label("day")
    aggregates: list[Label[Any]] = [func.count().label("measurement_count")]
    for prefix, column in (
        ("download", Measurement.download_mbps),
        ("upload", Measurement.upload_mbps),
        ("latency", Measurement.latency_ms),
    ):
        aggregates += [
            func.sum(column).label(f"{prefix}_sum"),
            func.min(column).label(f"{prefix}_min"),
            func.max(column).label(f"{prefix}_max"),
        ]
    measured = (
        select(Measurement.school_id, m_day, *aggregates)
        .where(Measurement.school_id.in_(ids), _from(Measurement.measured_at, since))
        .group_by(Measurement.school_id, m_day)
    )
    for row in (await db.execute(measured)).mappings():
        tests[(row["school_id"], row["day"])] = dict(row)
    p_day = utc_day(Ping.checked_at, dialect).label("day")
    connected = func.sum(case((Ping.is_connected, 1), else_=0))
    checked = (
        select(
            Ping.school_id,
            p_day,
            func.count().label("ping_count"),
            connected.label("ping_connected_count"),
        )
        .where(Ping.school_id.in_(ids), _from(Ping.checked_at, since))
        .group_by(Ping.school_id, p_day)
    )
    for row in (await db.execute(checked)).mappings():
        checks[(row["school_id"], row["day"])] = dict(row)
    return {
        key: school_day(countries[key[0]], tests.get(key), checks.get(key))
        for key in sorted(tests.keys() | checks.keys())
    }


async def school_truths(db: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, SchoolTruth]:
    """Each school's latest measurement (every one of them when several share the latest
    moment), its latest check and its latest successful check."""
    latest = (
        select(Measurement.school_id, func.max(Measurement.measured_at).label("at"))
        .where(Measurement.school_id.in_(ids))
        .group_by(Measurement.school_id)
        .subquery()
    )
    tied = select(
        Measurement.school_id,
        Measurement.measured_at,
        Measurement.download_mbps,
        Measurement.upload_mbps,
        Measurement.latency_ms,
    ).join(
        latest,
        and_(Measurement.school_id == latest.c.school_id, Measurement.measured_at == latest.c.at),
    )
    measured: dict[uuid.UUID, dict[str, Any]] = {}
    for school_id, at, download, upload, latency in await db.execute(tied):
        measured.setdefault(school_id, {"at": at, "candidates": []})["candidates"].append(
            (download, upload, latency)
        )
    connected_at = case((Ping.is_connected, Ping.checked_at), else_=None)
    pinged = (
        select(Ping.school_id, func.max(Ping.checked_at), func.max(connected_at))
        .where(Ping.school_id.in_(ids))
        .group_by(Ping.school_id)
    )
    checks = {row[0]: (row[1], row[2]) for row in await db.execute(pinged)}
    truths = {}
    for school_id in ids:
        entry = measured.get(school_id, {"at": None, "candidates": ()})
        last_ping_at, last_connected_at = checks.get(school_id, (None, None))
        truths[school_id] = SchoolTruth(
            last_measurement_at=entry["at"],
            latest_candidates=tuple(entry["candidates"]),
            last_ping_at=last_ping_at,
            last_connected_at=last_connected_at,
        )
    return truths


async def stored_school_days(
    db: AsyncSession, ids: Sequence[uuid.UUID], since: datetime | None = None
) -> dict[SchoolDayKey, Row]:
    return await _school_days(
        db, and_(SCHOOL_DAILY.c.school_id.in_(ids), _days_from(SCHOOL_DAILY.c.day, since))
    )


async def orphan_school_days(
    db: AsyncSession, country: str | None, since: datetime | None = None
) -> dict[SchoolDayKey, Row]:
    """school_daily rows of no registered school (nothing can have produced them); of
    the days before `since` none, as of every other school-day."""
    condition: ColumnElement[bool] = and_(
        ~SCHOOL_DAILY.c.school_id.in_(select(School.id)), _days_from(SCHOOL_DAILY.c.day, since)
    )
    if country is not None:
        condition = and_(condition, SCHOOL_DAILY.c.country_iso3 == country)
    return await _school_days(db, condition)


async def _school_days(db: AsyncSession, condition: ColumnElement[bool]) -> dict[SchoolDayKey, Row]:
    # Core rows, not ORM objects: a session's identity map would hand back stale ones.
    rows = (await db.execute(select(SCHOOL_DAILY).where(condition))).mappings()
    return {(row["school_id"], row["day"]): _columns(row, SCHOOL_DAY_COLUMNS) for row in rows}


async def stored_country_days(
    db: AsyncSession, country: str | None, since: datetime | None = None
) -> dict[tuple[str, date], Row]:
    statement = select(COUNTRY_DAILY).where(_days_from(COUNTRY_DAILY.c.day, since))
    if country is not None:
        statement = statement.where(COUNTRY_DAILY.c.country_iso3 == country)
    return {
        (row["country_iso3"], row["day"]): _columns(row, COUNTRY_DAY_COLUMNS)
        for row in (await db.execute(statement)).mappings()
    }


async def stored_country_stats(db: AsyncSession, country: str | None) -> dict[str, Row]:
    statement = select(COUNTRY_STATS)
    if country is not None:
        statement = statement.where(COUNTRY_STATS.c.country_iso3 == country)
    return {
        row["country_iso3"]: _columns(row, STATS_COLUMNS)
        for row in (await db.execute(statement)).mappings()
    }


def _columns(row: Any, names: Sequence[str]) -> Row:
    return {name: row[name] for name in names}
