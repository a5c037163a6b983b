"""School status kept as columns: updated by ingestion in its transaction, and by the
offline sweep; each change moves the country counters and may raise an alert."""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.db import claim_write_lock
from c2r_common.pagination import PageParams, paginate
from c2r_common.schemas import ConnectivityStatus
from school_monitor.bulk import BulkStatement
from school_monitor.config import SchoolMonitorSettings
from school_monitor.measurements.schemas import MeasurementIn, PingIn
from school_monitor.metrics import ALERTS_RAISED
from school_monitor.rollups.service import StatsDelta, apply_stats
from school_monitor.schools.models import School
from school_monitor.status.classification import (
    AlertKind,
    classify,
    online_alert,
    online_label,
    speed_alert,
)
from school_monitor.status.models import Alert
from school_monitor.upsert import table_of


@dataclass
class LatestTest:
    measured_at: datetime
    download_mbps: float
    upload_mbps: float
    latency_ms: float


@dataclass
class Observation:
    """What a batch tells about one school."""

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


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


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
        return SchoolState(*map(self.__getattribute__, _STATE_TYPES))


_STATE_TYPES = {
    "id": "uuid",
    "country_iso3": "text",
    "connectivity_status": "text",
    "is_online": "bool",
    "status_changed_at": "timestamptz",
    "last_measurement_at": "timestamptz",
    "last_ping_at": "timestamptz",
    "last_seen_at": "timestamptz",
    "latest_download_mbps": "float8",
    "latest_upload_mbps": "float8",
    "latest_latency_ms": "float8",
}
_UPDATED_TYPES = {name: kind for name, kind in _STATE_TYPES.items() if name != "country_iso3"}

# In id order, the same in every transaction, so that concurrent batches queue instead of
# deadlocking. FOR NO KEY UPDATE, not FOR UPDATE: the measurements' foreign keys hold KEY
# SHARE locks on these rows, which FOR UPDATE would wait on (and deadlock against another
# batch).
_STATE_SELECT = BulkStatement(
    f"SELECT {', '.join(_STATE_TYPES)} FROM schools "
    "WHERE id IN (SELECT id FROM {rows}) ORDER BY id{lock}",
    {"id": "uuid"},
    result_types=_STATE_TYPES,
)
# Status is not master data: `updated_at` stays the time of the last edit of the school.
_STATE_UPDATE = BulkStatement(
    f"UPDATE schools SET {', '.join(f'{n} = t.{n}' for n in _UPDATED_TYPES if n != 'id')} "
    "FROM {rows} WHERE schools.id = t.id",
    _UPDATED_TYPES,
)
_SPEED_TOTALS = (
    ("latest_download_mbps", "download_sum"),
    ("latest_upload_mbps", "upload_sum"),
    ("latest_latency_ms", "latency_sum"),
)


class StatusChanges:
    """Collects the row updates, counter deltas and alerts of one transaction."""

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

    async def write(self, db: AsyncSession) -> None:
        await self.write_schools(db)
        await self.write_counters(db)

    async def write_schools(self, db: AsyncSession) -> None:
        """The schools' rows and the alerts."""
        if self.updates:
            columns = {name: list(map(attrgetter(name), self.updates)) for name in _UPDATED_TYPES}
            await _STATE_UPDATE.fetch(db, columns)
        if self.alerts:
            connection = await db.connection()
            await connection.execute(insert(table_of(Alert)), self.alerts)
            for alert in self.alerts:
                ALERTS_RAISED.labels(alert["kind"]).inc()

    async def write_counters(self, db: AsyncSession) -> None:
        """The country counters: rows shared by every transaction of the country."""
        await apply_stats(db, self.deltas)


async def lock_school_states(db: AsyncSession, school_ids: list[uuid.UUID]) -> list[SchoolState]:
    """The schools' status, their rows locked until the transaction ends."""
    if not school_ids:
        return []
    rows = await _STATE_SELECT.fetch(db, {"id": school_ids})
    return [SchoolState(*row) for row in rows]


async def apply_observations(
    db: AsyncSession,
    settings: SchoolMonitorSettings,
    observations: dict[uuid.UUID, Observation],
    states: dict[uuid.UUID, SchoolState],
    now: datetime,
) -> StatusChanges:
    """Updates the schools seen, from their `states` locked earlier in the transaction;
    the changes' country counters are left for the caller to write."""
    changes = StatusChanges(settings, now)
    for school_id, seen in observations.items():
        changes.observe(states[school_id], seen)
    await changes.write_schools(db)
    return changes


async def sweep_offline(db: AsyncSession, settings: SchoolMonitorSettings, now: datetime) -> int:
    """Marks offline the online schools silent for longer than the window; returns how many."""
    await claim_write_lock(db)
    changes = StatusChanges(settings, now)
    stale = select(School.id).where(
        School.is_online.is_(True), School.last_seen_at < changes.online_since
    )
    school_ids = list((await db.scalars(stale)).all())
    for state in await lock_school_states(db, school_ids):
        if state.is_online and state.last_seen_at and state.last_seen_at < changes.online_since:
            changes.went_offline(state)
    await changes.write(db)
    return len(changes.updates)


async def list_alerts(
    db: AsyncSession,
    countries: frozenset[str] | None,
    country: str | None,
    school_id: uuid.UUID | None,
    kind: AlertKind | None,
    page: PageParams,
) -> tuple[list[Alert], str | None]:
    statement = select(Alert)
    if country is not None:
        statement = statement.where(Alert.country_iso3 == country.upper())
    elif countries is not None:
        statement = statement.where(Alert.country_iso3.in_(sorted(countries)))
    if school_id is not None:
        statement = statement.where(Alert.school_id == school_id)
    if kind is not None:
        statement = statement.where(Alert.kind == kind.value)
    return await paginate(db, statement, (Alert.created_at, Alert.id), page)
