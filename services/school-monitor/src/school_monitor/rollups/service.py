"""Incremental daily rollups and per-country counters, updated in the ingest transaction.

Every write here is an upsert with arithmetic (count = count + n, min = least(min, x)),
so concurrent batches commute and nothing is ever recomputed from raw rows.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from school_monitor.bulk import BulkStatement, Columns

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

    @classmethod
    def total(cls, figures: list["DayFigures"]) -> "DayFigures":
        """Several schools' figures for one day added up: their country's."""
        total = cls(**{name: sum(map(attrgetter(name), figures)) for name in _SUMMED})
        for names, extreme in ((_MINIMA, min), (_MAXIMA, max)):
            for name in names:
                known = [value for value in map(attrgetter(name), figures) if value is not None]
                setattr(total, name, extreme(known, default=None))
        return total

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
    days: dict[tuple[uuid.UUID, date], DayFigures] = field(default_factory=dict)

    def add(self, school_id: uuid.UUID, country_iso3: str, day: date, figures: DayFigures) -> None:
        self.school_country[school_id] = country_iso3
        if (school_id, day) in self.days:
            self.days[(school_id, day)].merge(figures)
        else:
            self.days[(school_id, day)] = figures


def _figure_updates(table: str) -> str:
    """The SET clause adding the incoming figures (`excluded`) to a stored row."""
    sums = [f"{n} = {table}.{n} + excluded.{n}" for n in _SUMMED]
    extremes = [
        # The dialect's two-argument min/max, ignoring NULL on either side.
        f"{n} = coalesce({{{function}}}({table}.{n}, excluded.{n}), {table}.{n}, excluded.{n})"
        for names, function in ((_MINIMA, "least"), (_MAXIMA, "greatest"))
        for n in names
    ]
    return ", ".join([*sums, *extremes])


_FIGURE_TYPES = {
    name: "int4" if name.endswith("count") else "float8" for name in (*_SUMMED, *_MINIMA, *_MAXIMA)
}
_SCHOOL_DAY_TYPES = {"school_id": "uuid", "day": "date", "country_iso3": "text", **_FIGURE_TYPES}
_COUNTRY_DAY_TYPES = {"country_iso3": "text", "day": "date", "schools_reporting": "int4"}
_COUNTRY_DAY_TYPES |= _FIGURE_TYPES

# The total of a row after the upsert tells whether this batch created it: a school is
# counted as reporting on a day once, by the transaction that adds its first data.
_SCHOOL_DAILY_UPSERT = BulkStatement(
    f"INSERT INTO school_daily ({', '.join(_SCHOOL_DAY_TYPES)}) "
    f"SELECT {', '.join(_SCHOOL_DAY_TYPES)} FROM {{rows}} WHERE true "
    "ON CONFLICT (school_id, day) DO UPDATE SET "
    f"{_figure_updates('school_daily')} "
    "RETURNING school_id, day, measurement_count + ping_count",
    _SCHOOL_DAY_TYPES,
    result_types={"school_id": "uuid", "day": "date", "total": "int4"},
)
_COUNTRY_DAILY_UPSERT = BulkStatement(
    f"INSERT INTO country_daily ({', '.join(_COUNTRY_DAY_TYPES)}) "
    f"SELECT {', '.join(_COUNTRY_DAY_TYPES)} FROM {{rows}} WHERE true "
    "ON CONFLICT (country_iso3, day) DO UPDATE SET "
    "schools_reporting = country_daily.schools_reporting + excluded.schools_reporting, "
    f"{_figure_updates('country_daily')}",
    _COUNTRY_DAY_TYPES,
)


def _figure_columns(figures: list[DayFigures]) -> Columns:
    return {name: [getattr(f, name) for f in figures] for name in _FIGURE_TYPES}


async def apply_school_rollups(
    session: AsyncSession, batch: RollupBatch
) -> set[tuple[uuid.UUID, date]]:
    """Adds the batch to school_daily; returns the (school, day) rows it created, whose
    schools count as reporting on that day in country_daily."""
    if not batch.days:
        return set()
    keys = sorted(batch.days)  # one lock order for every transaction
    figures = [batch.days[key] for key in keys]
    school_ids = [school_id for school_id, _ in keys]
    columns: Columns = {
        "school_id": school_ids,
        "day": [day for _, day in keys],
        "country_iso3": [batch.school_country[school_id] for school_id in school_ids],
    }
    returned = await _SCHOOL_DAILY_UPSERT.fetch(session, columns | _figure_columns(figures))
    return {
        (school_id, day)
        for school_id, day, total in returned
        if total == batch.days[(school_id, day)].data_points
    }


async def apply_country_rollups(
    session: AsyncSession, batch: RollupBatch, first_rows: set[tuple[uuid.UUID, date]]
) -> None:
    """Adds the same figures to country_daily, per country and day."""
    if not batch.days:
        return
    per_country: dict[tuple[str, date], list[DayFigures]] = defaultdict(list)
    reporting: dict[tuple[str, date], int] = defaultdict(int)
    for (school_id, day), figures in batch.days.items():
        key = (batch.school_country[school_id], day)
        per_country[key].append(figures)
        reporting[key] += (school_id, day) in first_rows
    keys = sorted(per_country)
    columns: Columns = {
        "country_iso3": [iso3 for iso3, _ in keys],
        "day": [day for _, day in keys],
        "schools_reporting": [reporting[key] for key in keys],
    }
    totals = [DayFigures.total(per_country[key]) for key in keys]
    await _COUNTRY_DAILY_UPSERT.fetch(session, columns | _figure_columns(totals))


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
_STATS_TYPES = {
    "country_iso3": "text",
    **{name: "float8" if name.endswith("_sum") else "int4" for name in _STATS_COLUMNS},
}
_STATS_UPSERT = BulkStatement(
    f"INSERT INTO country_stats ({', '.join(_STATS_TYPES)}) "
    f"SELECT {', '.join(_STATS_TYPES)} FROM {{rows}} WHERE true "
    "ON CONFLICT (country_iso3) DO UPDATE SET "
    f"{', '.join(f'{n} = country_stats.{n} + excluded.{n}' for n in _STATS_COLUMNS)}",
    _STATS_TYPES,
)


async def apply_stats(session: AsyncSession, deltas: dict[str, StatsDelta]) -> None:
    """Adds each country's delta to its country_stats row (created on first use)."""
    changed = {iso3: d for iso3, d in deltas.items() if any(d.columns().values())}
    if not changed:
        return
    countries = sorted(changed)  # one lock order for every transaction
    columns: Columns = {"country_iso3": countries}
    for name in _STATS_COLUMNS:
        columns[name] = [getattr(changed[iso3], name) for iso3 in countries]
    await _STATS_UPSERT.fetch(session, columns)
