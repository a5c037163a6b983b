"""The deltas of newly stored items, computed without the database: school-day figures,
the schools' new states with their alerts, and the country counters' changes.

Sums, not means, are kept everywhere, so that the deltas of concurrent transactions
commute: whatever order they commit in, the stored totals are the same.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import Any

from c2r_common.schemas import ConnectivityStatus
from school_monitor.config import SchoolMonitorSettings
from school_monitor.ingestion.submission import Item
from school_monitor.measurements.schemas import MeasurementIn, PingIn
from school_monitor.status.classification import (
    AlertKind,
    classify,
    online_alert,
    online_label,
    speed_alert,
)

SUMMED = (
    "measurement_count",
    "download_sum",
    "upload_sum",
    "latency_sum",
    "ping_count",
    "ping_connected_count",
)
MINIMA = ("download_min", "upload_min", "latency_min")
MAXIMA = ("download_max", "upload_max", "latency_max")
FIGURES = (*SUMMED, *MINIMA, *MAXIMA)


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass
class DayFigures:
    """What one transaction adds to one day of one school (or one country)."""

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

    @classmethod
    def of(cls, tests: list[MeasurementIn], checks: list[PingIn]) -> "DayFigures":
        downloads = [t.download_mbps for t in tests]
        uploads = [t.upload_mbps for t in tests]
        latencies = [t.latency_ms for t in tests]
        return cls(
            measurement_count=len(tests),
            download_sum=sum(downloads),
            upload_sum=sum(uploads),
            latency_sum=sum(latencies),
            download_min=min(downloads, default=None),
            download_max=max(downloads, default=None),
            upload_min=min(uploads, default=None),
            upload_max=max(uploads, default=None),
            latency_min=min(latencies, default=None),
            latency_max=max(latencies, default=None),
            ping_count=len(checks),
            ping_connected_count=sum(map(attrgetter("is_connected"), checks)),
        )

    def merge(self, other: "DayFigures") -> None:
        for name in SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in MINIMA:
            setattr(self, name, _min(getattr(self, name), getattr(other, name)))
        for name in MAXIMA:
            setattr(self, name, _max(getattr(self, name), getattr(other, name)))

    @classmethod
    def total(cls, figures: list["DayFigures"]) -> "DayFigures":
        """Several schools' figures for one day added up: their country's."""
        total = cls(**{name: sum(map(attrgetter(name), figures)) for name in SUMMED})
        for names, extreme in ((MINIMA, min), (MAXIMA, max)):
            for name in names:
                known = [value for value in map(attrgetter(name), figures) if value is not None]
                setattr(total, name, extreme(known, default=None))
        return total

    @property
    def data_points(self) -> int:
        return self.measurement_count + self.ping_count


@dataclass
class RollupBatch:
    """The rollup increments of one transaction, by (school, day)."""

    school_country: dict[uuid.UUID, str] = field(default_factory=dict)
    days: dict[tuple[uuid.UUID, date], DayFigures] = field(default_factory=dict)

    def add(self, school_id: uuid.UUID, country_iso3: str, day: date, figures: DayFigures) -> None:
        self.school_country[school_id] = country_iso3
        if (school_id, day) in self.days:
            self.days[(school_id, day)].merge(figures)
        else:
            self.days[(school_id, day)] = figures


@dataclass(frozen=True)
class CountryDay:
    """What one transaction adds to one country's day: its schools' figures added up, and
    how many of those schools report on that day for the first time."""

    country_iso3: str
    day: date
    new_schools_reporting: int
    figures: DayFigures


def country_days(batch: RollupBatch, first_rows: set[tuple[uuid.UUID, date]]) -> list[CountryDay]:
    """`first_rows`: the (school, day) rows this transaction created in school_daily."""
    per_country: dict[tuple[str, date], list[DayFigures]] = defaultdict(list)
    reporting: dict[tuple[str, date], int] = defaultdict(int)
    for (school_id, day), figures in batch.days.items():
        key = (batch.school_country[school_id], day)
        per_country[key].append(figures)
        reporting[key] += (school_id, day) in first_rows
    return [
        CountryDay(iso3, day, reporting[(iso3, day)], DayFigures.total(figures))
        for (iso3, day), figures in per_country.items()
    ]


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


@dataclass
class LatestTest:
    measured_at: datetime
    download_mbps: float
    upload_mbps: float
    latency_ms: float


@dataclass
class Observation:
    """What a transaction's new items tell about one school."""

    latest_test: LatestTest | None = None
    last_ping_at: datetime | None = None
    last_seen_at: datetime | None = None  # a test or a successful check

    def add(self, tests: list[MeasurementIn], checks: list[PingIn]) -> None:
        """Takes in one day's new tests and checks of the school."""
        if tests:
            latest = max(tests, key=attrgetter("measured_at"))  # the first of equals
            if self.latest_test is None or latest.measured_at > self.latest_test.measured_at:
                self.latest_test = LatestTest(
                    latest.measured_at, latest.download_mbps, latest.upload_mbps, latest.latency_ms
                )
            self._saw(latest.measured_at)
        if checks:
            self.last_ping_at = _later(self.last_ping_at, max(c.timestamp for c in checks))
            connected = [c.timestamp for c in checks if c.is_connected]
            if connected:
                self._saw(max(connected))

    def _saw(self, at: datetime) -> None:
        self.last_seen_at = _later(self.last_seen_at, at)


@dataclass(slots=True)
class SchoolState:
    """The status columns of one school row."""

    id: uuid.UUID
    country_iso3: str
    connectivity_status: str
    is_online: bool
    status_changed_at: datetime | None
    last_measurement_at: datetime | None
    last_ping_at: datetime | None
    last_seen_at: datetime | None
    latest_download_mbps: float | None
    latest_upload_mbps: float | None
    latest_latency_ms: float | None

    def copy(self) -> "SchoolState":
        return SchoolState(*map(self.__getattribute__, STATE_COLUMNS))


STATE_COLUMNS = tuple(SchoolState.__dataclass_fields__)
_SPEED_TOTALS = (
    ("latest_download_mbps", "download_sum"),
    ("latest_upload_mbps", "upload_sum"),
    ("latest_latency_ms", "latency_sum"),
)


class StatusChanges:
    """The schools' new states, counter deltas and alerts of one transaction."""

    def __init__(self, settings: SchoolMonitorSettings, now: datetime) -> None:
        self.settings = settings
        self.now = now
        self.online_since = now - timedelta(minutes=settings.offline_after_minutes)
        self.updates: list[SchoolState] = []
        self.deltas: dict[str, StatsDelta] = defaultdict(StatsDelta)
        self.alerts: list[dict[str, Any]] = []

    def observe(self, state: SchoolState, seen: Observation) -> None:
        new = state.copy()
        test = seen.latest_test
        if test is not None and (
            state.last_measurement_at is None or test.measured_at > state.last_measurement_at
        ):
            new.last_measurement_at = test.measured_at
            new.latest_download_mbps = test.download_mbps
            new.latest_upload_mbps = test.upload_mbps
            new.latest_latency_ms = test.latency_ms
            benchmark = self.settings.benchmark_for(state.country_iso3)
            new.connectivity_status = classify(test.download_mbps, benchmark).value
        new.last_ping_at = _later(state.last_ping_at, seen.last_ping_at)
        new.last_seen_at = _later(state.last_seen_at, seen.last_seen_at)
        new.is_online = new.last_seen_at is not None and new.last_seen_at >= self.online_since
        self._record(state, new)

    def went_offline(self, state: SchoolState) -> None:
        new = state.copy()
        new.is_online = False
        self._record(state, new)

    def _record(self, state: SchoolState, new: SchoolState) -> None:
        previous = ConnectivityStatus(state.connectivity_status)
        current = ConnectivityStatus(new.connectivity_status)
        if previous is not current or state.is_online != new.is_online:
            new.status_changed_at = self.now
        self._count(state, new)
        kind = speed_alert(previous, current)
        if kind is not None:
            self._alert(state, kind, previous.value, current.value)
        kind = online_alert(state.is_online, new.is_online, state.last_seen_at is not None)
        if kind is not None:
            previous_label = online_label(state.is_online)
            self._alert(state, kind, previous_label, online_label(new.is_online))
        self.updates.append(new)

    def _count(self, state: SchoolState, new: SchoolState) -> None:
        delta = self.deltas[state.country_iso3]
        if state.connectivity_status != new.connectivity_status:
            delta.move(state.connectivity_status, new.connectivity_status)
        if state.latest_download_mbps is None and new.latest_download_mbps is not None:
            delta.with_data += 1
        for column, total in _SPEED_TOTALS:
            change = (getattr(new, column) or 0.0) - (getattr(state, column) or 0.0)
            setattr(delta, total, getattr(delta, total) + change)

    def _alert(self, state: SchoolState, kind: AlertKind, previous: str, current: str) -> None:
        self.alerts.append(
            {
                "id": uuid.uuid4(),
                "school_id": state.id,
                "country_iso3": state.country_iso3,
                "kind": kind.value,
                "previous": previous,
                "current": current,
                "created_at": self.now,
            }
        )


@dataclass
class Deltas:
    """Everything a transaction's new items change besides their own rows."""

    rollups: RollupBatch
    status: StatusChanges


def derive(
    settings: SchoolMonitorSettings,
    new_items: list[tuple[Item, uuid.UUID]],
    states: dict[uuid.UUID, SchoolState],
    now: datetime,
) -> Deltas:
    """The rollups and status changes of the newly stored items, per school-day."""
    by_school_day: dict[tuple[uuid.UUID, date], list[Item]] = defaultdict(list)
    for item, school_id in new_items:
        by_school_day[(school_id, item.moment.date())].append(item)  # moments are in UTC
    rollups = RollupBatch()
    observations: dict[uuid.UUID, Observation] = defaultdict(Observation)
    for (school_id, day), items in by_school_day.items():
        tests = [i for i in items if isinstance(i, MeasurementIn)]
        checks = [i for i in items if isinstance(i, PingIn)]
        rollups.add(school_id, states[school_id].country_iso3, day, DayFigures.of(tests, checks))
        observations[school_id].add(tests, checks)
    status = StatusChanges(settings, now)
    for school_id, seen in observations.items():
        status.observe(states[school_id], seen)
    return Deltas(rollups, status)


def offline_changes(
    settings: SchoolMonitorSettings, states: list[SchoolState], now: datetime
) -> StatusChanges:
    """The schools among `states` that are online but silent for longer than the window."""
    changes = StatusChanges(settings, now)
    for state in states:
        if state.is_online and state.last_seen_at and state.last_seen_at < changes.online_since:
            changes.went_offline(state)
    return changes
