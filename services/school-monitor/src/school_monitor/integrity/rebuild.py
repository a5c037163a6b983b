"""Repair of the derived values from the raw rows, in short transactions while ingestion
goes on.

Two passes, each in the lock order ingestion uses (schools by id, then country_daily by
country and day, then country_stats by country), so that neither deadlocks against an
ingest transaction and no concurrent ingest is lost or counted twice:

1. Per chunk of schools: their rows are locked first, as ingestion locks them (FOR NO KEY
   UPDATE by id on PostgreSQL; SQLite's write lock), so no ingest of theirs runs
   meanwhile and every one that ran is visible; their school_daily rows and status
   columns are recomputed from the raw rows and rewritten where they differ.
2. Per country: its country_daily rows and its country_stats row are locked (a missing
   day is created first, so that it can be), then set to the totals of its school rows,
   exact after pass 1. Once the lock is held, a READ COMMITTED statement sees every
   committed ingest that wrote these rows, and an ingest still to write them adds its own
   figures to ours after our commit.

The country rows are not moved by the difference of the schools' contributions: that
difference is right only if the country rows were consistent with the wrong school rows
(a school row corrupted alone would then corrupt its country's), and min/max cannot move
by differences at all. Totals under the lock are exact whatever was wrong where.

A repair raises no alerts (nothing happened at the school) and leaves `updated_at` alone.

With `raw_retention_months`, the days before `figures.complete_since` (computed once per
run) are left as they are, school-days and country-days alike: their raw rows may be gone,
and these rollups are what the retention keeps. A school's latest values accepted from
before it (`figures.kept_moment`) are kept as stored.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, func, select, true, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.db import claim_write_lock, utcnow
from school_monitor.config import SchoolMonitorSettings
from school_monitor.integrity import sources
from school_monitor.integrity.figures import (
    ABSENT,
    COUNTRY_DAY_COLUMNS,
    COUNTS,
    LATEST,
    MAXIMA,
    MINIMA,
    PRESENT,
    ROW,
    SCHOOL_DAY_COLUMNS,
    STATS_COLUMNS,
    STATS_SUMS,
    STATUS_COLUMNS,
    STATUSES,
    SUMS,
    UNDETERMINED,
    Difference,
    Row,
    compare_row,
    country_day_key,
    empty_stats,
    settled,
)
from school_monitor.integrity.sources import COUNTRY_DAILY, COUNTRY_STATS, SCHOOL_DAILY
from school_monitor.integrity.verify import (
    SchoolChunk,
    chunk_differences,
    raw_rows_complete_since,
    read_chunk,
)
from school_monitor.schools.models import School
from school_monitor.upsert import dialect_insert, table_of

CHUNK_SCHOOLS = 500
SCHOOLS = table_of(School)


@dataclass
class RebuildReport:
    """What a rebuild rewrote: each value as it was (`stored`) and as it is now
    (`expected`); a row deleted or created is one change of column `row`."""

    schools: int = 0
    changes: list[Difference] = field(default_factory=list)


async def rebuild(
    db: AsyncSession,
    settings: SchoolMonitorSettings,
    country: str | None = None,
    chunk_size: int = CHUNK_SCHOOLS,
    now: datetime | None = None,
) -> RebuildReport:
    """Makes every derived value (of `country`, or all) what the raw rows say, committing
    after each chunk of schools and each country. `now` fixes the clock (tests move it);
    without it each chunk reads the time when its schools are locked."""
    country = country.upper() if country else None
    report = RebuildReport()
    await db.rollback()  # each step is a transaction of its own
    since = raw_rows_complete_since(settings, now or utcnow())
    after: uuid.UUID | None = None
    while True:
        after = await _repair_school_chunk(
            db, settings, _Pass(after, country, chunk_size, since, now), report
        )
        await db.commit()
        if after is None:
            break
    for iso3 in await _countries(db, country):
        await _delete_orphan_days(db, iso3, since, report)
        await _repair_country_days(db, iso3, since, report)
        await _repair_country_stats(db, iso3, report)
        await db.commit()
    return report


# -- pass 1: schools --------------------------------------------------------------------


@dataclass(frozen=True)
class _Pass:
    """Where pass 1 is: after which school, of which country, how many at a time, from
    when the raw rows are complete, on which clock (None: the current time)."""

    after: uuid.UUID | None
    country: str | None
    size: int
    since: datetime | None
    now: datetime | None


async def _repair_school_chunk(
    db: AsyncSession, settings: SchoolMonitorSettings, step: _Pass, report: RebuildReport
) -> uuid.UUID | None:
    """Repairs the next chunk of schools; returns the last id, None when none is left."""
    await claim_write_lock(db)
    next_ids = _next_ids(step.after, step.country, step.size)
    ids: list[uuid.UUID] = list((await db.scalars(next_ids)).all())
    if not ids:
        return None
    states = await _lock_schools(db, ids)
    now = step.now or utcnow()
    chunk = await read_chunk(db, settings, states, now, step.since)
    changes = chunk_differences(chunk)
    report.schools += len(states)
    report.changes += changes
    if changes:
        changed = {d.key[0] for d in changes}
        await _write_school_days(db, chunk, {k for k in _day_keys(chunk) if str(k[0]) in changed})
        new_states = _new_states(chunk, changed, settings, now)
        await _write_states(db, chunk, new_states, now)
    return ids[-1]


def _next_ids(after: uuid.UUID | None, country: str | None, size: int) -> Any:
    statement = select(School.id).order_by(School.id).limit(size)
    if after is not None:
        statement = statement.where(School.id > after)
    if country is not None:
        statement = statement.where(School.country_iso3 == country)
    return statement


async def _lock_schools(db: AsyncSession, ids: list[uuid.UUID]) -> dict[uuid.UUID, Row]:
    """The schools' status, their rows locked as ingestion locks them: by id, FOR NO KEY
    UPDATE (FOR UPDATE would wait on the measurements' foreign-key KEY SHARE locks)."""
    columns = [SCHOOLS.c.id, SCHOOLS.c.country_iso3, SCHOOLS.c.status_changed_at]
    columns += [SCHOOLS.c[name] for name in STATUS_COLUMNS]
    statement = (
        select(*columns)
        .where(SCHOOLS.c.id.in_(ids))
        .order_by(SCHOOLS.c.id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE
    )
    return {row["id"]: dict(row) for row in (await db.execute(statement)).mappings()}


def _day_keys(chunk: SchoolChunk) -> set[sources.SchoolDayKey]:
    return chunk.expected_days.keys() | chunk.stored_days.keys()


async def _write_school_days(
    db: AsyncSession, chunk: SchoolChunk, keys: set[sources.SchoolDayKey]
) -> None:
    """Rewrites the school-days that differ, deletes those that should not exist."""
    rows, gone = [], []
    for key in sorted(keys):
        expected, stored = chunk.expected_days.get(key), chunk.stored_days.get(key)
        if expected is None:
            gone.append({"_school": key[0], "_day": key[1]})
        elif compare_row("school_daily", (), stored, expected, SCHOOL_DAY_COLUMNS):
            rows.append({"school_id": key[0], "day": key[1], **expected})
    if rows:
        insert = dialect_insert(sources.dialect_of(db), SCHOOL_DAILY)
        upsert = insert.on_conflict_do_update(
            index_elements=["school_id", "day"],
            set_={name: insert.excluded[name] for name in SCHOOL_DAY_COLUMNS},
        )
        await db.execute(upsert, rows)
    if gone:
        statement = delete(SCHOOL_DAILY).where(
            SCHOOL_DAILY.c.school_id == bindparam("_school"),
            SCHOOL_DAILY.c.day == bindparam("_day"),
        )
        await db.execute(statement, gone)


def _new_states(
    chunk: SchoolChunk, changed: set[str], settings: SchoolMonitorSettings, now: datetime
) -> dict[uuid.UUID, Row]:
    """The corrected status of each changed school. Online where the rows do not decide
    it is what ingestion would say now (seen within the window)."""
    online_since = now - timedelta(minutes=settings.offline_after_minutes)
    new_states = {}
    for school_id, expected in chunk.expected_states.items():
        if str(school_id) not in changed:
            continue
        state = settled(expected, chunk.states[school_id])
        if expected["is_online"] is UNDETERMINED:
            seen = state["last_seen_at"]
            state["is_online"] = seen is not None and seen >= online_since
        new_states[school_id] = state
    return new_states


async def _write_states(
    db: AsyncSession, chunk: SchoolChunk, new_states: dict[uuid.UUID, Row], now: datetime
) -> None:
    rows = []
    for school_id, state in new_states.items():
        old = chunk.states[school_id]
        moved = (state["connectivity_status"], state["is_online"]) != (
            old["connectivity_status"],
            old["is_online"],
        )
        changed_at = now if moved else old["status_changed_at"]
        rows.append({"_id": school_id, "status_changed_at": changed_at, **state})
    if not rows:
        return
    values: dict[str, Any] = {name: bindparam(name) for name in STATUS_COLUMNS}
    values["status_changed_at"] = bindparam("status_changed_at")
    # Status is not master data: updated_at stays (and its onupdate is not applied).
    values["updated_at"] = SCHOOLS.c.updated_at
    statement = update(SCHOOLS).where(SCHOOLS.c.id == bindparam("_id")).values(values)
    await db.execute(statement, rows)


# -- pass 2: countries -------------------------------------------------------------------


async def _countries(db: AsyncSession, country: str | None) -> list[str]:
    if country is not None:
        return [country]
    found: set[str] = set()
    for column in (
        SCHOOLS.c.country_iso3,
        COUNTRY_DAILY.c.country_iso3,
        COUNTRY_STATS.c.country_iso3,
    ):
        found |= set((await db.scalars(select(column).distinct())).all())
    found |= set((await db.scalars(select(SCHOOL_DAILY.c.country_iso3).distinct())).all())
    await db.commit()
    return sorted(found)


async def _delete_orphan_days(
    db: AsyncSession, iso3: str, since: datetime | None, report: RebuildReport
) -> None:
    """school_daily rows of no school: no ingest can touch them (it locks the school)."""
    await claim_write_lock(db)
    orphans = await sources.orphan_school_days(db, iso3, since)
    if not orphans:
        return
    for key, row in sorted(orphans.items()):
        report.changes += compare_row(
            "school_daily", (str(key[0]), key[1].isoformat()), row, None, ()
        )
    statement = delete(SCHOOL_DAILY).where(
        tuple_(SCHOOL_DAILY.c.school_id, SCHOOL_DAILY.c.day).in_(list(orphans))
    )
    await db.execute(statement)


def _kept_days(column: Any, since: datetime | None) -> Any:
    """The days rebuild may rewrite: all, or from `since`'s day on (retention)."""
    return true() if since is None else column >= since.date()


def _country_day_totals(iso3: str, since: datetime | None) -> Any:
    sd = SCHOOL_DAILY.c
    return (
        select(
            sd.day,
            func.count().label("schools_reporting"),
            *(func.sum(sd[name]).label(name) for name in (*COUNTS, *SUMS)),
            *(func.min(sd[name]).label(name) for name in MINIMA),
            *(func.max(sd[name]).label(name) for name in MAXIMA),
        )
        .where(sd.country_iso3 == iso3, _kept_days(sd.day, since))
        .group_by(sd.day)
    )


async def _repair_country_days(
    db: AsyncSession, iso3: str, since: datetime | None, report: RebuildReport
) -> None:
    """Sets the country's days to the totals of its school-days, under the rows' locks."""
    await claim_write_lock(db)
    dialect = sources.dialect_of(db)
    cd = COUNTRY_DAILY.c
    # Every day with school data gets a row first, so that it can be locked: one that an
    # ingest creates meanwhile is then an update of ours, after our commit.
    zeros = dict.fromkeys((*COUNTS, *SUMS), 0)
    sd = SCHOOL_DAILY.c
    days = select(sd.day).where(sd.country_iso3 == iso3, _kept_days(sd.day, since)).distinct()
    present = list((await db.scalars(days)).all())
    created: set[date] = set()
    if present:
        rows = [
            {"country_iso3": iso3, "day": day, "schools_reporting": 0, **zeros}
            for day in sorted(present)
        ]
        insert = dialect_insert(dialect, COUNTRY_DAILY).values(rows).on_conflict_do_nothing()
        created = set((await db.scalars(insert.returning(cd.day))).all())
    locked = (
        select(COUNTRY_DAILY)
        .where(cd.country_iso3 == iso3, _kept_days(cd.day, since))
        .order_by(cd.day)
        .with_for_update()
    )
    stored = {row["day"]: dict(row) for row in (await db.execute(locked)).mappings()}
    summed = await db.execute(_country_day_totals(iso3, since))
    totals = {row["day"]: dict(row) for row in summed.mappings()}
    rewrite, gone = [], []
    for day, row in stored.items():
        key = country_day_key(iso3, day)
        differences = compare_row("country_daily", key, row, totals.get(day), COUNTRY_DAY_COLUMNS)
        if day in created:
            report.changes.append(Difference("country_daily", key, ROW, ABSENT, PRESENT))
        else:
            report.changes += differences
        if day not in totals:
            gone.append({"_day": day})
        elif differences:
            rewrite.append({"_day": day, **{n: totals[day][n] for n in COUNTRY_DAY_COLUMNS}})
    where = (cd.country_iso3 == iso3) & (cd.day == bindparam("_day"))
    if rewrite:
        values: dict[str, Any] = {name: bindparam(name) for name in COUNTRY_DAY_COLUMNS}
        await db.execute(update(COUNTRY_DAILY).where(where).values(values), rewrite)
    if gone:
        await db.execute(delete(COUNTRY_DAILY).where(where), gone)


def _country_stats_totals(iso3: str) -> Any:
    s = SCHOOLS.c
    by_status = [
        func.coalesce(func.sum(case((s.connectivity_status == name, 1), else_=0)), 0).label(name)
        for name in STATUSES
    ]
    sums = [
        func.coalesce(func.sum(s[column]), 0.0).label(total)
        for column, total in zip(LATEST, STATS_SUMS, strict=True)
    ]
    return select(
        func.count().label("schools_total"),
        *by_status,
        func.count(s.latest_download_mbps).label("with_data"),
        *sums,
    ).where(s.country_iso3 == iso3)


async def _repair_country_stats(db: AsyncSession, iso3: str, report: RebuildReport) -> None:
    """Sets the country's counters to the totals of its schools, under the row's lock."""
    await claim_write_lock(db)
    insert = dialect_insert(sources.dialect_of(db), COUNTRY_STATS).on_conflict_do_nothing()
    await db.execute(insert, [{"country_iso3": iso3, **empty_stats()}])
    locked = select(COUNTRY_STATS).where(COUNTRY_STATS.c.country_iso3 == iso3).with_for_update()
    stored = dict((await db.execute(locked)).mappings().one())
    totals = dict((await db.execute(_country_stats_totals(iso3))).mappings().one())
    differences = compare_row("country_stats", (iso3,), stored, totals, STATS_COLUMNS)
    if not differences:
        return
    report.changes += differences
    values: dict[str, Any] = {name: totals[name] for name in STATS_COLUMNS}
    await db.execute(
        update(COUNTRY_STATS).where(COUNTRY_STATS.c.country_iso3 == iso3).values(values)
    )
