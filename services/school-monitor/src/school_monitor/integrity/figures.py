"""What every derived value should be, as pure functions of the raw rows' aggregates, and
the comparison of stored values with them.

The SQL (`sources.py`) aggregates the raw rows per school and day; everything above that
level (a country's day, a country's counters, a school's status) is folded here, so that
one pass over the raw rows gives every expected value and the rules read like the
definitions in the README.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from school_monitor.retention.rules import raw_cutoff
from school_monitor.status.classification import classify

Row = dict[str, Any]
Key = tuple[str, ...]

# The marker column of a whole row that is missing or should not exist.
ROW = "row"
PRESENT, ABSENT = "present", "absent"

COUNTS = ("measurement_count", "ping_count", "ping_connected_count")
SUMS = ("download_sum", "upload_sum", "latency_sum")
MINIMA = ("download_min", "upload_min", "latency_min")
MAXIMA = ("download_max", "upload_max", "latency_max")
FIGURES = (*COUNTS, *SUMS, *MINIMA, *MAXIMA)
SCHOOL_DAY_COLUMNS = ("country_iso3", *FIGURES)
COUNTRY_DAY_COLUMNS = ("schools_reporting", *FIGURES)
STATUSES = ("good", "moderate", "bad", "unknown")
STATS_SUMS = ("download_sum", "upload_sum", "latency_sum")
STATS_COLUMNS = ("schools_total", *STATUSES, "with_data", *STATS_SUMS)
LATEST = ("latest_download_mbps", "latest_upload_mbps", "latest_latency_ms")
STATUS_COLUMNS = (
    "last_measurement_at",
    *LATEST,
    "last_ping_at",
    "last_seen_at",
    "connectivity_status",
    "is_online",
)
# Sums are added up in another order than ingestion's (and country counters are moved by
# differences), so they agree only up to rounding.
FLOAT_COLUMNS = frozenset({*SUMS, *STATS_SUMS})
REL_TOLERANCE = 1e-9
ABS_TOLERANCE = 1e-6
# Replicas' clocks may disagree a little about when a school was last seen.
CLOCK_SKEW = timedelta(minutes=1)
# The retention cutoff is taken this much later than now: another replica's background
# round may run on a clock ahead of ours, and a run may go on past the moment the cutoff
# moves to the next month; rows removed by such a round must not be taken for rows that
# never were (rebuild would delete the rollups they left). A later cutoff only means a
# little less is checked.
CUTOFF_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class Difference:
    """One derived value that is not what the raw rows say it should be."""

    table: str
    key: Key
    column: str
    stored: Any
    expected: Any

    def __str__(self) -> str:
        return (
            f"{self.table}[{', '.join(self.key)}].{self.column}: "
            f"stored {self.stored!r}, expected {self.expected!r}"
        )


def same_value(column: str, stored: Any, expected: Any) -> bool:
    if column in FLOAT_COLUMNS and stored is not None and expected is not None:
        return math.isclose(stored, expected, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
    return bool(stored == expected)


def compare_row(
    table: str,
    key: Key,
    stored: Mapping[str, Any] | None,
    expected: Mapping[str, Any] | None,
    columns: Iterable[str],
) -> list[Difference]:
    """The differences of one row; a column expected as None is not determinable and is
    not compared (see `expected_online`)."""
    if stored is None and expected is None:
        return []
    if stored is None:
        return [Difference(table, key, ROW, ABSENT, PRESENT)]
    if expected is None:
        return [Difference(table, key, ROW, PRESENT, ABSENT)]
    return [
        Difference(table, key, column, stored[column], expected[column])
        for column in columns
        if expected[column] is not UNDETERMINED
        and not same_value(column, stored[column], expected[column])
    ]


class _Undetermined:
    def __repr__(self) -> str:
        return "undetermined"


UNDETERMINED: Any = _Undetermined()


def complete_since(now: datetime, retention_months: int, max_age: timedelta) -> datetime | None:
    """The first instant from which every raw row is still stored (None: all are kept),
    given `raw_retention_months`: the start of the day after the one the retention cutoff
    (`retention.rules.raw_cutoff`) falls in. Days before it, rollups kept without their
    raw rows, are neither checked nor rewritten.

    The cutoff's own day counts as removed too. Today the cutoff is a month's first
    instant, so that day is in fact whole; but it is whole only while the cutoff stays on
    a midnight and every store compares moments at it exactly (SQLite compares text), and
    a day wrongly taken as whole is one whose kept rollups rebuild would delete. One day
    less of checking is the cheaper mistake.
    """
    cutoff = raw_cutoff(now + CUTOFF_MARGIN, retention_months, max_age)
    if cutoff is None:
        return None
    day = cutoff.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def is_checked_day(day: date, since: datetime | None) -> bool:
    """Whether a school-day or country-day is complete in the raw rows (see
    `complete_since`)."""
    return since is None or day >= since.date()


def kept_moment(
    stored: datetime | None, found: datetime | None, since: datetime | None
) -> Any:  # a moment, None or UNDETERMINED
    """What a school's stored latest moment (of a test, a check, a sighting) should be,
    given the latest raw row found. A stored moment before `since` may be that of a row
    the retention removed: it is accepted (`UNDETERMINED`) unless a later row is found,
    which ingestion would have stored instead. A row found before `since` proves nothing
    more: of the rows at its moment some may be gone."""
    if since is None or stored is None or stored >= since:
        return found
    if found is not None and found > stored:
        return found
    return UNDETERMINED


def settled(expected: Mapping[str, Any], stored: Mapping[str, Any]) -> Row:
    """The expected row with each value the rows do not determine taken as stored."""
    return {
        name: stored[name] if value is UNDETERMINED else value for name, value in expected.items()
    }


def _least(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _greatest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def empty_day() -> Row:
    return dict.fromkeys(COUNTS, 0) | dict.fromkeys(SUMS, 0.0) | dict.fromkeys((*MINIMA, *MAXIMA))


def add_figures(total: Row, figures: Mapping[str, Any]) -> None:
    """Adds one school-day's figures to a running total (a country's day)."""
    for name in (*COUNTS, *SUMS):
        total[name] += figures[name]
    for name in MINIMA:
        total[name] = _least(total[name], figures[name])
    for name in MAXIMA:
        total[name] = _greatest(total[name], figures[name])


def school_day(
    country_iso3: str, tests: Mapping[str, Any] | None, checks: Mapping[str, Any] | None
) -> Row:
    """A school-day's expected row from its measurements' and checks' aggregates."""
    row = empty_day() | {"country_iso3": country_iso3}
    if tests is not None:
        row |= {name: tests[name] for name in ("measurement_count", *SUMS, *MINIMA, *MAXIMA)}
    if checks is not None:
        row |= {name: checks[name] for name in ("ping_count", "ping_connected_count")}
    return row


@dataclass(frozen=True)
class SchoolTruth:
    """What the raw rows say about one school's latest data."""

    last_measurement_at: datetime | None = None
    # (download, upload, latency) of every measurement at last_measurement_at: ties.
    latest_candidates: tuple[tuple[float, float, float], ...] = ()
    last_ping_at: datetime | None = None
    last_connected_at: datetime | None = None


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def chosen_latest(
    stored: Mapping[str, Any], candidates: Iterable[tuple[float, float, float]]
) -> tuple[float | None, float | None, float | None]:
    """The latest measurement's figures: of several taken at the same moment any one is
    right, so the one closest to what is stored (one column corrupted is one difference)."""
    held = tuple(stored[name] for name in LATEST)
    best: tuple[float | None, ...] = (None, None, None)
    best_matches = -1
    for candidate in sorted(candidates):
        matches = sum(a == b for a, b in zip(candidate, held, strict=True))
        if matches > best_matches:
            best, best_matches = candidate, matches
    return best[0], best[1], best[2]


def expected_online(
    last_seen_at: datetime | None, now: datetime, offline_after: timedelta
) -> bool | Any:
    """Online is what ingestion decided when it last saw the school, until the sweep turns
    it offline: a school seen within the window must be online (ingestion said so and no
    sweep may have undone it), one never seen offline; one silent for longer is offline
    only once the sweep has run, which cannot be told from the rows (`UNDETERMINED`)."""
    if last_seen_at is None:
        return False
    if last_seen_at >= now - offline_after + CLOCK_SKEW:
        return True
    return UNDETERMINED


def expected_status(
    stored: Mapping[str, Any],
    truth: SchoolTruth,
    benchmark_mbps: float,
    now: datetime,
    offline_after: timedelta,
    since: datetime | None = None,
) -> Row:
    """A school's status columns as ingestion maintains them. `status_changed_at` is the
    moment of the last change, which the rows do not record: it is not verified.

    With raw rows complete only from `since` (retention), latest values stored from before
    it are accepted where no later row contradicts them (`kept_moment`); the status and
    the online state must still follow from what is then stored."""
    last_measurement_at = kept_moment(
        stored["last_measurement_at"], truth.last_measurement_at, since
    )
    latest: tuple[Any, ...] = (UNDETERMINED,) * len(LATEST)
    download = stored["latest_download_mbps"]
    if last_measurement_at is not UNDETERMINED:
        latest = chosen_latest(stored, truth.latest_candidates)
        download = latest[0]
    found_seen = _later(truth.last_measurement_at, truth.last_connected_at)
    last_seen_at = kept_moment(stored["last_seen_at"], found_seen, since)
    seen = stored["last_seen_at"] if last_seen_at is UNDETERMINED else last_seen_at
    return {
        "last_measurement_at": last_measurement_at,
        **dict(zip(LATEST, latest, strict=True)),
        "last_ping_at": kept_moment(stored["last_ping_at"], truth.last_ping_at, since),
        "last_seen_at": last_seen_at,
        "connectivity_status": classify(download, benchmark_mbps).value,
        "is_online": expected_online(seen, now, offline_after),
    }


def empty_stats() -> Row:
    return dict.fromkeys(STATS_COLUMNS, 0) | dict.fromkeys(STATS_SUMS, 0.0)


def add_school_to_stats(stats: Row, status: Mapping[str, Any]) -> None:
    """Counts one school (its expected status) in its country's counters."""
    stats["schools_total"] += 1
    stats[status["connectivity_status"]] += 1
    if status["latest_download_mbps"] is not None:
        stats["with_data"] += 1
    for column, total in zip(LATEST, STATS_SUMS, strict=True):
        stats[total] += status[column] or 0.0


def is_empty_stats(row: Mapping[str, Any]) -> bool:
    """A counter row of zeros says the same as no row (a country without schools)."""
    return all(not row[name] for name in STATS_COLUMNS)


@dataclass
class CountryTotals:
    """The expected country rows, folded from the expected school rows."""

    days: dict[tuple[str, date], Row] = field(default_factory=dict)
    stats: dict[str, Row] = field(default_factory=dict)

    def add_day(self, country_iso3: str, day: date, figures: Mapping[str, Any]) -> None:
        total = self.days.get((country_iso3, day))
        if total is None:
            total = self.days[(country_iso3, day)] = empty_day() | {"schools_reporting": 0}
        total["schools_reporting"] += 1
        add_figures(total, figures)

    def add_school(self, country_iso3: str, status: Mapping[str, Any]) -> None:
        add_school_to_stats(self.stats.setdefault(country_iso3, empty_stats()), status)


def school_day_key(school_id: Any, day: date) -> Key:
    return (str(school_id), day.isoformat())


def country_day_key(country_iso3: str, day: date) -> Key:
    return (country_iso3, day.isoformat())
