"""Ingestion of measurements and ping checks.

One transaction per request (or per group of single pushes): rows inserted only where
their UUID is not stored yet, so that a retried item is acknowledged without being stored
or counted twice; then, for the newly stored rows only, the daily rollups, the schools'
status columns and the country counters, all with set-based statements. The caller
commits before answering: an acknowledgement always means committed.

This is the hot path of the service: work per item is kept to a few attribute reads,
and everything else is done per school or per request.
"""

import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.db import claim_write_lock, utcnow
from c2r_common.errors import FieldProblem, ProblemError
from c2r_common.pagination import PageParams, paginate
from c2r_common.reference import country_by_iso3
from school_monitor.agents.service import note_agent_seen
from school_monitor.bulk import Columns
from school_monitor.config import SchoolMonitorSettings
from school_monitor.measurements import storage
from school_monitor.measurements.models import FailedMeasurement, Measurement
from school_monitor.measurements.schemas import IngestReport, ItemProblem, MeasurementIn, PingIn
from school_monitor.measurements.validation import FUTURE_TOLERANCE, time_problem
from school_monitor.metrics import (
    MEASUREMENTS_DUPLICATE,
    MEASUREMENTS_INGESTED,
    MEASUREMENTS_REJECTED,
    source_label,
)
from school_monitor.rollups.service import (
    DayFigures,
    RollupBatch,
    apply_country_rollups,
    apply_school_rollups,
)
from school_monitor.status.service import (
    Observation,
    SchoolState,
    apply_observations,
    lock_school_states,
)

Item = MeasurementIn | PingIn


@dataclass
class Submission:
    """The items of one request, with who sent them."""

    principal: Principal
    items: Sequence[tuple[int, Item]]
    problems: list[ItemProblem]
    received: int
    prefix: str = "body.items"

    @property
    def agent_id(self) -> Any:
        return self.principal.claims.get("agent_id") if self.principal.kind == "device" else None

    @property
    def device_school(self) -> uuid.UUID | None:
        """The school of a device token: the only one it may push for."""
        if self.principal.kind != "device":
            return None
        school_id = self.principal.claims["school_id"]
        return school_id if isinstance(school_id, uuid.UUID) else uuid.UUID(str(school_id))

    def school_ids(self) -> set[uuid.UUID]:
        device_school = self.device_school
        if device_school is not None:
            return {device_school}
        return {item.school_id for _, item in self.items if item.school_id is not None}

    def where(self, index: int) -> str:
        return f"{self.prefix}.{index}" if self.prefix else "body"


@dataclass
class Screened:
    """The items of a submission that passed every check, each with its school."""

    submission: Submission
    items: list[tuple[Item, uuid.UUID]] = field(default_factory=list)
    problems: list[ItemProblem] = field(default_factory=list)


@dataclass(frozen=True)
class TimeWindow:
    """Measured at most 5 minutes in the future and within the accepted age."""

    now: datetime
    max_age: timedelta

    @property
    def earliest(self) -> datetime:
        return self.now - self.max_age

    @property
    def latest(self) -> datetime:
        return self.now + FUTURE_TOLERANCE


def _refuse_other_school(device_school: uuid.UUID, item: Item) -> ProblemError:
    return ProblemError(
        403,
        f"This device is registered for school {device_school} and cannot push data "
        f"for school {item.school_id}.",
    )


def screen(submission: Submission, countries: dict[uuid.UUID, str], window: TimeWindow) -> Screened:
    """Checks the rules a schema cannot: time window, school known and allowed.

    Raises the problem that refuses the whole submission: a device pushing for another
    school, or a school outside the token's countries.
    """
    screened = Screened(submission)
    device_school = submission.device_school
    earliest, latest = window.earliest, window.latest
    for index, item in submission.items:
        school_id = item.school_id if device_school is None else device_school
        if device_school is not None and item.school_id not in (None, device_school):
            raise _refuse_other_school(device_school, item)
        if not earliest <= item.moment <= latest:
            screened.problems.append(_out_of_window(submission, index, item, window))
        elif school_id is None:
            missing = FieldProblem(
                field=f"{submission.where(index)}.school_id", message="required for this token"
            )
            screened.problems.append(ItemProblem(index=index, reason="invalid", errors=[missing]))
        elif school_id not in countries:
            unknown = FieldProblem(
                field=f"{submission.where(index)}.school_id", message=f"no school {school_id}"
            )
            screened.problems.append(
                ItemProblem(index=index, reason="unknown_school", errors=[unknown])
            )
        else:
            screened.items.append((item, school_id))
    for iso3 in {countries[school_id] for _, school_id in screened.items}:
        submission.principal.require_country(iso3)
    return screened


def _out_of_window(
    submission: Submission, index: int, item: Item, window: TimeWindow
) -> ItemProblem:
    where = f"{submission.where(index)}.{item.MOMENT_FIELD}"
    problem = time_problem(item.moment, window.now, window.max_age, where)
    assert problem is not None
    return ItemProblem(index=index, reason="out_of_window", errors=[problem])


async def ingest(
    db: AsyncSession,
    principal: Principal,
    settings: SchoolMonitorSettings,
    items: Sequence[tuple[int, Item]],
    problems: list[ItemProblem],
    received: int,
    prefix: str = "body.items",
) -> IngestReport:
    """Stores the valid, new items of one request and updates everything derived from them."""
    submission = Submission(principal, items, problems, received, prefix)
    [outcome] = await ingest_many(db, settings, [submission])
    if isinstance(outcome, ProblemError):
        raise outcome
    return outcome


async def ingest_many(
    db: AsyncSession, settings: SchoolMonitorSettings, submissions: Sequence[Submission]
) -> list[IngestReport | ProblemError]:
    """Stores the items of several requests in one transaction (group commit).

    Each request keeps its own outcome: a report, or the problem that refuses it whole
    (a device pushing for another school, a school outside the token's countries), in
    which case none of its items is stored.
    """
    await claim_write_lock(db)
    now = utcnow()
    # The schools' rows are locked now, before anything is written: their status is
    # updated at the end, from the state read here.
    school_ids = {s for submission in submissions for s in submission.school_ids()}
    states = {state.id: state for state in await lock_school_states(db, list(school_ids))}
    countries = {school_id: state.country_iso3 for school_id, state in states.items()}
    window = TimeWindow(now, timedelta(days=settings.max_measurement_age_days))
    checked: list[Screened | ProblemError] = []
    for submission in submissions:
        try:
            checked.append(screen(submission, countries, window))
        except ProblemError as refusal:
            checked.append(refusal)
    screened = [outcome for outcome in checked if isinstance(outcome, Screened)]
    first_seen: dict[uuid.UUID, tuple[Item, uuid.UUID, Any]] = {}
    for accepted in screened:
        agent_id = accepted.submission.agent_id
        for item, school_id in accepted.items:  # a UUID twice: the first one counts
            first_seen.setdefault(item.uuid, (item, school_id, agent_id))
    stored = await _store(db, list(first_seen.values()), now)
    new_items = [(i, s) for i, s, _ in first_seen.values() if i.uuid in stored]
    await _note_agents(db, screened)
    await _derive(db, settings, new_items, states, now)
    claimed: set[uuid.UUID] = set()
    tally = IngestTally()
    outcomes = [
        _report(outcome, stored, claimed, tally) if isinstance(outcome, Screened) else outcome
        for outcome in checked
    ]
    tally.publish()
    return outcomes


async def _store(
    db: AsyncSession, items: list[tuple[Item, uuid.UUID, Any]], now: datetime
) -> set[uuid.UUID]:
    stored: set[uuid.UUID] = set()
    for table, kind in ((storage.MEASUREMENTS, MeasurementIn), (storage.PINGS, PingIn)):
        entries = [entry for entry in items if isinstance(entry[0], kind)]
        stored |= await storage.insert_new(db, table, _columns(table, entries, now))
    return stored


def _columns(
    table: storage.BulkTable, entries: Sequence[tuple[Item, uuid.UUID, Any]], now: datetime
) -> Columns:
    """The rows of `table` for the items, column by column: the item's own fields, and
    what the request adds (school, agent, time received)."""
    items = [item for item, _, _ in entries]
    added: Columns = {
        "school_id": [school_id for _, school_id, _ in entries],
        "agent_id": [agent_id for _, _, agent_id in entries],
        "received_at": [now] * len(items),
        table.moment_column: [item.moment for item in items],
    }
    return {
        name: added[name] if name in added else [getattr(item, name) for item in items]
        for name in table.column_types
    }


async def _note_agents(db: AsyncSession, screened: list[Screened]) -> None:
    noted = set()
    for accepted in screened:
        agent_id = accepted.submission.agent_id
        if agent_id is None or not accepted.items or agent_id in noted:
            continue
        noted.add(agent_id)
        version = next((i.app_version for i, _ in accepted.items if i.app_version), None)
        claims = accepted.submission.principal.claims
        if await note_agent_seen(db, agent_id, claims.get("last_seen_at"), version):
            claims["last_seen_at"] = utcnow()  # a cached device principal stays current


async def _derive(
    db: AsyncSession,
    settings: SchoolMonitorSettings,
    new_items: list[tuple[Item, uuid.UUID]],
    states: dict[uuid.UUID, SchoolState],
    now: datetime,
) -> None:
    """The rollups and status changes of the newly stored items, computed per school-day.

    The schools' rows are written first and the countries' rows last: every transaction
    of a country updates the same country rows, so that a concurrent one (another group
    commit, a batch) waits for them only at its very end, not for its whole length.
    """
    by_school_day: dict[tuple[uuid.UUID, date], list[Item]] = defaultdict(list)
    for item, school_id in new_items:
        by_school_day[(school_id, item.moment.date())].append(item)  # moments are in UTC
    rollups = RollupBatch()
    observations: dict[uuid.UUID, Observation] = defaultdict(Observation)
    for (school_id, day), items in by_school_day.items():
        tests = [i for i in items if isinstance(i, MeasurementIn)]
        checks = [i for i in items if isinstance(i, PingIn)]
        rollups.add(school_id, states[school_id].country_iso3, day, _day_figures(tests, checks))
        observations[school_id].add(tests, checks)
    first_rows = await apply_school_rollups(db, rollups)
    changes = await apply_observations(db, settings, observations, states, now)
    await apply_country_rollups(db, rollups, first_rows)
    await changes.write_counters(db)


def _day_figures(tests: list[MeasurementIn], checks: list[PingIn]) -> DayFigures:
    downloads = [t.download_mbps for t in tests]
    uploads = [t.upload_mbps for t in tests]
    latencies = [t.latency_ms for t in tests]
    return DayFigures(
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


@dataclass
class IngestTally:
    """What one transaction took in, for the metrics: each counter moved once per label set."""

    ingested: Counter[tuple[str, str]] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    rejected: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def publish(self) -> None:
        for (kind, source), count in self.ingested.items():
            MEASUREMENTS_INGESTED.labels(kind, source_label(source)).inc(count)
        for kind, count in self.duplicates.items():
            MEASUREMENTS_DUPLICATE.labels(kind).inc(count)
        for (kind, reason, source), count in self.rejected.items():
            MEASUREMENTS_REJECTED.labels(kind, reason, source_label(source)).inc(count)


def _report(
    accepted: Screened, stored: set[uuid.UUID], claimed: set[uuid.UUID], tally: IngestTally
) -> IngestReport:
    """One request's report; `claimed` keeps a UUID sent twice from being counted twice."""
    stored_here = 0
    for item, _ in accepted.items:
        if item.uuid in stored and item.uuid not in claimed:
            claimed.add(item.uuid)
            stored_here += 1
            tally.ingested[(item.KIND, item.source)] += 1
        else:
            tally.duplicates[item.KIND] += 1
    submission = accepted.submission
    problems = submission.problems + accepted.problems
    if problems:
        problems.sort(key=attrgetter("index"))
        by_index = dict(submission.items)
        for problem in problems:
            known = by_index.get(problem.index)
            kind, source = ("unparsed", "other") if known is None else (known.KIND, known.source)
            tally.rejected[(kind, problem.reason, source)] += 1
    return IngestReport(
        received=submission.received,
        stored=stored_here,
        duplicates=len(accepted.items) - stored_here,
        rejected=problems,
    )


async def list_school_measurements(
    db: AsyncSession,
    school_id: uuid.UUID,
    since: datetime | None,
    until: datetime | None,
    page: PageParams,
) -> tuple[list[Measurement], str | None]:
    statement = select(Measurement).where(Measurement.school_id == school_id)
    if since is not None:
        statement = statement.where(Measurement.measured_at >= since)
    if until is not None:
        statement = statement.where(Measurement.measured_at < until)
    return await paginate(db, statement, (Measurement.measured_at, Measurement.uuid), page)


async def list_failed(
    db: AsyncSession, countries: frozenset[str] | None, reason: str | None, page: PageParams
) -> tuple[list[FailedMeasurement], str | None]:
    statement = select(FailedMeasurement)
    if countries is not None:  # failed records carry the alpha-2 code the agent sent
        iso2 = sorted(c.iso2 for c in map(country_by_iso3, countries) if c and c.iso2)
        statement = statement.where(FailedMeasurement.country_code.in_(iso2))
    if reason is not None:
        statement = statement.where(FailedMeasurement.reason == reason)
    return await paginate(
        db, statement, (FailedMeasurement.received_at, FailedMeasurement.id), page
    )
