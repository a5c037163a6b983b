"""Verification of every derived value against the raw rows.

`verify` recomputes school_daily, country_daily, country_stats and the schools' status
columns from `measurements` and `pings` (and the schools themselves) and lists every
stored value that differs. It reads one snapshot (a REPEATABLE READ transaction on
PostgreSQL, SQLite's read transaction), so that it can run while ingestion goes on: every
ingest transaction writes raw and derived rows together, and a snapshot sees all of one or
none of it. The raw rows are aggregated per chunk of schools, so memory stays bounded by a
chunk and the country rows (countries times days).

Not verified, because the rows do not determine them: `status_changed_at` (the moment of
a change), and `is_online` of a school silent for longer than `offline_after_minutes`
(offline once the sweep has run, online until then); see `figures.expected_online`.

With `raw_retention_months`, the raw rows are complete only from `figures.complete_since`
on, computed once per run: the school-days and country-days before it are not verified,
and a school's latest moments stored from before it are accepted unless a later raw row
contradicts them (`figures.kept_moment`). country_stats, folded from the schools' status,
is verified whole.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from c2r_common.db import utcnow
from school_monitor.config import SchoolMonitorSettings
from school_monitor.integrity import sources
from school_monitor.integrity.figures import (
    COUNTRY_DAY_COLUMNS,
    SCHOOL_DAY_COLUMNS,
    STATS_COLUMNS,
    STATUS_COLUMNS,
    CountryTotals,
    Difference,
    Row,
    compare_row,
    complete_since,
    country_day_key,
    expected_status,
    is_empty_stats,
    school_day_key,
    settled,
)

CHUNK_SCHOOLS = 1000


@dataclass
class SchoolChunk:
    """A chunk of schools: their stored status and what the raw rows say about them."""

    states: dict[uuid.UUID, Row]
    expected_days: dict[sources.SchoolDayKey, Row] = field(default_factory=dict)
    stored_days: dict[sources.SchoolDayKey, Row] = field(default_factory=dict)
    expected_states: dict[uuid.UUID, Row] = field(default_factory=dict)

    @property
    def countries(self) -> dict[uuid.UUID, str]:
        return {school_id: state["country_iso3"] for school_id, state in self.states.items()}


def raw_rows_complete_since(settings: SchoolMonitorSettings, now: datetime) -> datetime | None:
    """From when on the raw rows are all still stored, under the settings' retention."""
    max_age = timedelta(days=settings.max_measurement_age_days)
    return complete_since(now, settings.raw_retention_months, max_age)


async def read_chunk(
    db: AsyncSession,
    settings: SchoolMonitorSettings,
    states: dict[uuid.UUID, Row],
    now: datetime,
    since: datetime | None,
) -> SchoolChunk:
    chunk = SchoolChunk(states)
    ids = list(states)
    chunk.expected_days = await sources.expected_school_days(db, chunk.countries, since)
    chunk.stored_days = await sources.stored_school_days(db, ids, since)
    truths = await sources.school_truths(db, ids)
    offline_after = timedelta(minutes=settings.offline_after_minutes)
    for school_id, state in states.items():
        benchmark = settings.benchmark_for(state["country_iso3"])
        chunk.expected_states[school_id] = expected_status(
            state, truths[school_id], benchmark, now, offline_after, since
        )
    return chunk


def chunk_differences(chunk: SchoolChunk) -> list[Difference]:
    differences = []
    for key in sorted(chunk.expected_days.keys() | chunk.stored_days.keys()):
        differences += compare_row(
            "school_daily",
            school_day_key(*key),
            chunk.stored_days.get(key),
            chunk.expected_days.get(key),
            SCHOOL_DAY_COLUMNS,
        )
    for school_id in sorted(chunk.states):
        differences += compare_row(
            "schools",
            (str(school_id),),
            chunk.states[school_id],
            chunk.expected_states[school_id],
            STATUS_COLUMNS,
        )
    return differences


def add_to_totals(totals: CountryTotals, chunk: SchoolChunk) -> None:
    for (school_id, day), figures in chunk.expected_days.items():
        totals.add_day(chunk.countries[school_id], day, figures)
    for school_id, state in chunk.expected_states.items():
        # Values accepted as stored count as stored: country_stats is verified whole.
        totals.add_school(chunk.countries[school_id], settled(state, chunk.states[school_id]))


async def next_schools(
    db: AsyncSession, after: uuid.UUID | None, country: str | None, size: int
) -> dict[uuid.UUID, Row]:
    """The next chunk of schools by id, their status columns as stored."""
    rows = (await db.execute(sources.school_chunk(after, country, size))).mappings()
    return {row["id"]: dict(row) for row in rows}


def country_differences(
    totals: CountryTotals,
    stored_days: dict[tuple[str, Any], Row],
    stored_stats: dict[str, Row],
) -> list[Difference]:
    differences = []
    for key in sorted(totals.days.keys() | stored_days.keys()):
        differences += compare_row(
            "country_daily",
            country_day_key(*key),
            stored_days.get(key),
            totals.days.get(key),
            COUNTRY_DAY_COLUMNS,
        )
    for iso3 in sorted(totals.stats.keys() | stored_stats.keys()):
        stored = stored_stats.get(iso3)
        expected = totals.stats.get(iso3)
        if expected is None and stored is not None and is_empty_stats(stored):
            continue
        differences += compare_row("country_stats", (iso3,), stored, expected, STATS_COLUMNS)
    return differences


async def begin_snapshot(db: AsyncSession) -> None:
    """Starts the session's transaction as one snapshot (PostgreSQL's default, READ
    COMMITTED, gives each statement its own). A session already in a transaction, or
    bound to a connection (the tests' outer transaction), keeps the one it has."""
    if db.in_transaction() or not isinstance(db.bind, AsyncEngine):
        await db.connection()
        return
    if db.bind.dialect.name == "postgresql":
        await db.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    else:
        await db.connection()


async def verify(
    db: AsyncSession,
    settings: SchoolMonitorSettings,
    country: str | None = None,
    now: datetime | None = None,
) -> list[Difference]:
    """Every derived value that differs from what the raw rows say, in a stable order
    (schools' rows chunk by chunk, then the countries'); [] when all is exact.

    `country` (ISO alpha-3) limits it to that country's schools and rows; `now` is the
    clock (tests move it). The session is left in its transaction; the caller ends it.
    """
    country = country.upper() if country else None
    await begin_snapshot(db)
    totals = CountryTotals()
    differences: list[Difference] = []
    after: uuid.UUID | None = None
    states = await next_schools(db, after, country, CHUNK_SCHOOLS)
    # Taken once the snapshot exists: no ingestion it shows ran later than this.
    now = now or utcnow()
    since = raw_rows_complete_since(settings, now)
    while states:
        chunk = await read_chunk(db, settings, states, now, since)
        differences += chunk_differences(chunk)
        add_to_totals(totals, chunk)
        after = list(states)[-1]  # in the database's order of ids
        states = await next_schools(db, after, country, CHUNK_SCHOOLS)
    for key, row in sorted((await sources.orphan_school_days(db, country, since)).items()):
        differences += compare_row("school_daily", school_day_key(*key), row, None, ())
    stored_days = await sources.stored_country_days(db, country, since)
    stored_stats = await sources.stored_country_stats(db, country)
    return differences + country_differences(totals, stored_days, stored_stats)
