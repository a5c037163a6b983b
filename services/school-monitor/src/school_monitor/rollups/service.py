"""Incremental daily rollups and per-country counters, updated in the ingest transaction.

Every write here is an upsert with arithmetic (count = count + n, min = least(min, x)),
so concurrent batches commute and nothing is ever recomputed from raw rows.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from school_monitor.rollups.models import CountryDaily, CountryStats, SchoolDaily
from school_monitor.upsert import dialect_insert, dialect_name, higher_of, lower_of, table_of

_SUMMED = (
    "measurement_count",
    "download_sum",
    "upload_sum",
    "latency_sum",
    "ping_count",
    "ping_connected_count",
)
_MINIMA = ("download_min", "upload_min", "latency_min")
_MAXIMA = ("download_max", "upload_max", "latency_max")


@dataclass
class DayFigures:
    """What one batch adds to one day of one school (or one country)."""

    measurement_count: int = 0
    download_sum: float = 0.0
    upload_sum: float = 0.0
    latency_sum: float = 0.0
    download_min: float | None = None
    download_max: float | None = None
    upload_min: float | None = None
    upload_max: float | None = None
    latency_min: float | None = None
    latency_max: float | None = None
    ping_count: int = 0
    ping_connected_count: int = 0

    def merge(self, other: "DayFigures") -> None:
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in _MINIMA:
            setattr(self, name, _min(getattr(self, name), getattr(other, name)))
        for name in _MAXIMA:
            setattr(self, name, _max(getattr(self, name), getattr(other, name)))

    @property
    def data_points(self) -> int:
        return self.measurement_count + self.ping_count

    def columns(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (*_SUMMED, *_MINIMA, *_MAXIMA)}


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass
class RollupBatch:
    """The rollup increments of one ingest batch, grouped by (school, day)."""

    school_country: dict[uuid.UUID, str] = field(default_factory=dict)
    days: dict[tuple[uuid.UUID, date], DayFigures] = field(
        default_factory=lambda: defaultdict(DayFigures)
    )

    def add(self, school_id: uuid.UUID, country_iso3: str, day: date, figures: DayFigures) -> None:
        self.school_country[school_id] = country_iso3
        self.days[(school_id, day)].merge(figures)


def _figure_updates(dialect: str, table: Table, statement: Any) -> dict[str, Any]:
    stored, incoming = table.c, statement.excluded
    updates: dict[str, Any] = {name: stored[name] + incoming[name] for name in _SUMMED}
    updates |= {name: lower_of(dialect, stored[name], incoming[name]) for name in _MINIMA}
    updates |= {name: higher_of(dialect, stored[name], incoming[name]) for name in _MAXIMA}
    return updates


@cache
def _school_daily_upsert(dialect: str) -> Any:
    table = table_of(SchoolDaily)
    statement = dialect_insert(dialect, table)
    updates = _figure_updates(dialect, table, statement)
    return statement.on_conflict_do_update(
        index_elements=["school_id", "day"], set_=updates
    ).returning(table.c.school_id, table.c.day, table.c.measurement_count + table.c.ping_count)


@cache
def _country_daily_upsert(dialect: str) -> Any:
    table = table_of(CountryDaily)
    statement = dialect_insert(dialect, table)
    updates = _figure_updates(dialect, table, statement)
    updates["schools_reporting"] = table.c.schools_reporting + statement.excluded.schools_reporting
    return statement.on_conflict_do_update(index_elements=["country_iso3", "day"], set_=updates)


@cache
def _stats_upsert(dialect: str) -> Any:
    table = table_of(CountryStats)
    statement = dialect_insert(dialect, table)
    updates = {name: table.c[name] + statement.excluded[name] for name in _STATS_COLUMNS}
    return statement.on_conflict_do_update(index_elements=["country_iso3"], set_=updates)


async def apply_rollups(session: AsyncSession, batch: RollupBatch) -> None:
    """Adds the batch to school_daily, then the same figures to country_daily, counting a
    school as reporting on a day the first time a row for that (school, day) appears."""
    if not batch.days:
        return
    connection = await session.connection()
    rows = [
        {"school_id": school_id, "day": day, "country_iso3": batch.school_country[school_id]}
        | figures.columns()
        for (school_id, day), figures in sorted(batch.days.items())
    ]
    result = await connection.execute(_school_daily_upsert(dialect_name(session)), rows)
    first_rows = {
        (school_id, day)
        for school_id, day, total in result.all()
        if total == batch.days[(school_id, day)].data_points
    }
    await _apply_country_days(session, batch, first_rows)


async def _apply_country_days(
    session: AsyncSession, batch: RollupBatch, first_rows: set[tuple[uuid.UUID, date]]
) -> None:
    per_country: dict[tuple[str, date], DayFigures] = defaultdict(DayFigures)
    reporting: dict[tuple[str, date], int] = defaultdict(int)
    for (school_id, day), figures in batch.days.items():
        key = (batch.school_country[school_id], day)
        per_country[key].merge(figures)
        reporting[key] += int((school_id, day) in first_rows)
    rows = [
        {"country_iso3": iso3, "day": day, "schools_reporting": reporting[(iso3, day)]}
        | figures.columns()
        for (iso3, day), figures in sorted(per_country.items())
    ]
    connection = await session.connection()
    await connection.execute(_country_daily_upsert(dialect_name(session)), rows)


@dataclass
class StatsDelta:
    """Changes to one country's counters: schools by status and sums of latest speeds."""

    schools_total: int = 0
    good: int = 0
    moderate: int = 0
    bad: int = 0
    unknown: int = 0
    with_data: int = 0
    download_sum: float = 0.0
    upload_sum: float = 0.0
    latency_sum: float = 0.0

    def move(self, previous: str | None, current: str | None) -> None:
        if previous is not None:
            setattr(self, previous, getattr(self, previous) - 1)
        if current is not None:
            setattr(self, current, getattr(self, current) + 1)

    def columns(self) -> dict[str, Any]:
        return dict(self.__dict__)


_STATS_COLUMNS = tuple(StatsDelta().columns())


async def apply_stats(session: AsyncSession, deltas: dict[str, StatsDelta]) -> None:
    """Adds each country's delta to its country_stats row (created on first use)."""
    changed = {iso3: d for iso3, d in deltas.items() if any(d.columns().values())}
    if not changed:
        return
    rows = [{"country_iso3": iso3} | delta.columns() for iso3, delta in sorted(changed.items())]
    connection = await session.connection()
    await connection.execute(_stats_upsert(dialect_name(session)), rows)
