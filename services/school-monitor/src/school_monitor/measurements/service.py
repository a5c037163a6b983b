"""Ingestion of measurements and ping checks.

One transaction per request: rows inserted with INSERT ... ON CONFLICT (uuid) DO NOTHING
RETURNING uuid, so that a retried item is acknowledged without being stored or counted
twice; then, for the newly stored rows only, the daily rollups, the schools' status
columns and the country counters, all with set-based statements. The endpoint's session
commits before the response is sent: an acknowledgement always means committed.
"""

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.db import claim_write_lock, utcnow
from c2r_common.errors import FieldProblem, ProblemError
from c2r_common.pagination import PageParams, paginate
from c2r_common.reference import country_by_iso3
from school_monitor.agents.service import note_agent_seen
from school_monitor.config import SchoolMonitorSettings
from school_monitor.measurements.models import FailedMeasurement, Measurement, Ping
from school_monitor.measurements.schemas import IngestReport, ItemProblem, MeasurementIn, PingIn
from school_monitor.measurements.validation import time_problem
from school_monitor.metrics import (
    MEASUREMENTS_DUPLICATE,
    MEASUREMENTS_INGESTED,
    MEASUREMENTS_REJECTED,
    source_label,
)
from school_monitor.rollups.service import RollupBatch, apply_rollups
from school_monitor.schools.models import School
from school_monitor.status.service import LatestTest, Observation, apply_observations
from school_monitor.upsert import dialect_insert, dialect_name, table_of

Item = MeasurementIn | PingIn


@dataclass
class Accepted:
    """Items that passed every check, with the school each one is for."""

    items: list[tuple[int, Item, uuid.UUID]] = field(default_factory=list)
    problems: list[ItemProblem] = field(default_factory=list)


def _moment(item: Item) -> datetime:
    return item.measured_at if isinstance(item, MeasurementIn) else item.timestamp


def _moment_field(item: Item) -> str:
    return "measured_at" if isinstance(item, MeasurementIn) else "timestamp"


def _device_school(principal: Principal) -> uuid.UUID | None:
    if principal.kind != "device":
        return None
    school_id = principal.claims["school_id"]
    return school_id if isinstance(school_id, uuid.UUID) else uuid.UUID(str(school_id))


def _school_of(principal: Principal, item: Item) -> uuid.UUID | None:
    """The school an item is for; a device may only push for its own school."""
    device_school = _device_school(principal)
    if device_school is None:
        return item.school_id
    if item.school_id is not None and item.school_id != device_school:
        raise ProblemError(
            403,
            f"This device is registered for school {device_school} and cannot push data "
            f"for school {item.school_id}.",
        )
    return device_school


async def _known_schools(db: AsyncSession, school_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not school_ids:
        return {}
    statement = select(School.id, School.country_iso3).where(School.id.in_(sorted(school_ids)))
    return {row.id: row.country_iso3 for row in await db.execute(statement)}


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


def screen(
    submission: Submission,
    schools_by_item: dict[int, uuid.UUID | None],
    countries: dict[uuid.UUID, str],
    settings: SchoolMonitorSettings,
    now: datetime,
) -> Accepted:
    """Checks the rules a schema cannot: time window, school known and allowed."""
    accepted = Accepted()
    max_age = timedelta(days=settings.max_measurement_age_days)
    prefix = submission.prefix
    for index, item in submission.items:
        school_id = schools_by_item[index]
        where = f"{prefix}.{index}" if prefix else "body"
        problem = time_problem(_moment(item), now, max_age, f"{where}.{_moment_field(item)}")
        if problem is not None:
            accepted.problems.append(
                ItemProblem(index=index, reason="out_of_window", errors=[problem])
            )
        elif school_id is None:
            missing = FieldProblem(field=f"{where}.school_id", message="required for this token")
            accepted.problems.append(ItemProblem(index=index, reason="invalid", errors=[missing]))
        elif school_id not in countries:
            unknown = FieldProblem(field=f"{where}.school_id", message=f"no school {school_id}")
            accepted.problems.append(
                ItemProblem(index=index, reason="unknown_school", errors=[unknown])
            )
        else:
            submission.principal.require_country(countries[school_id])
            accepted.items.append((index, item, school_id))
    return accepted


def _measurement_row(
    item: MeasurementIn, school_id: uuid.UUID, agent_id: Any, now: datetime
) -> dict[str, Any]:
    return {
        "uuid": item.uuid,
        "school_id": school_id,
        "measured_at": item.measured_at,
        "received_at": now,
        "download_mbps": item.download_mbps,
        "upload_mbps": item.upload_mbps,
        "latency_ms": item.latency_ms,
        "jitter_ms": item.jitter_ms,
        "packet_loss_pct": item.packet_loss_pct,
        "source": item.source,
        "server": item.server,
        "app_version": item.app_version,
        "agent_id": agent_id,
        "raw_result": item.raw_result,
    }


def _ping_row(item: PingIn, school_id: uuid.UUID, agent_id: Any, now: datetime) -> dict[str, Any]:
    return {
        "uuid": item.uuid,
        "school_id": school_id,
        "checked_at": item.timestamp,
        "received_at": now,
        "is_connected": item.is_connected,
        "latency_ms": item.latency_ms,
        "error": item.error,
        "source": item.source,
        "agent_id": agent_id,
    }


async def _insert_new(db: AsyncSession, table: Table, rows: list[dict[str, Any]]) -> set[uuid.UUID]:
    """Inserts the rows whose UUID is not stored yet; returns the UUIDs inserted.

    Rows go in UUID order so that two transactions inserting overlapping batches wait for
    each other in the same order rather than deadlock.
    """
    if not rows:
        return set()
    rows.sort(key=lambda row: row["uuid"])
    connection = await db.connection()
    statement = _insert_new_statement(dialect_name(db), table)
    return set((await connection.execute(statement, rows)).scalars().all())


@cache
def _insert_new_statement(dialect: str, table: Table) -> Any:
    return (
        dialect_insert(dialect, table)
        .on_conflict_do_nothing(index_elements=["uuid"])
        .returning(table.c.uuid)
    )


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
    outcomes: list[IngestReport | ProblemError | None] = [None] * len(submissions)
    wanted: dict[int, dict[int, uuid.UUID | None]] = {}
    for n, submission in enumerate(submissions):
        try:
            wanted[n] = {i: _school_of(submission.principal, it) for i, it in submission.items}
        except ProblemError as refusal:
            outcomes[n] = refusal
    every_school = {s for by_item in wanted.values() for s in by_item.values() if s is not None}
    countries = await _known_schools(db, every_school)
    screened: dict[int, Accepted] = {}
    for n, by_item in wanted.items():
        try:
            screened[n] = screen(submissions[n], by_item, countries, settings, now)
        except ProblemError as refusal:
            outcomes[n] = refusal
    first_seen: dict[uuid.UUID, tuple[Item, uuid.UUID, Any]] = {}
    for n, accepted in screened.items():
        for _, item, school_id in accepted.items:  # a UUID twice: the first one counts
            first_seen.setdefault(item.uuid, (item, school_id, submissions[n].agent_id))
    stored = await _store(db, list(first_seen.values()), now)
    new_items = [(i, s) for i, s, _ in first_seen.values() if i.uuid in stored]
    await _derive(db, settings, new_items, countries, now)
    await _note_agents(db, [(submissions[n], screened[n]) for n in screened])
    claimed: set[uuid.UUID] = set()
    for n, accepted in screened.items():
        outcomes[n] = _report(submissions[n], accepted, stored, claimed)
    return [outcome for outcome in outcomes if outcome is not None]


async def _store(
    db: AsyncSession, items: list[tuple[Item, uuid.UUID, Any]], now: datetime
) -> set[uuid.UUID]:
    tests = [
        _measurement_row(i, s, agent, now) for i, s, agent in items if isinstance(i, MeasurementIn)
    ]
    checks = [_ping_row(i, s, agent, now) for i, s, agent in items if isinstance(i, PingIn)]
    if dialect_name(db) == "postgresql":
        stored = await _insert_new_measurements_pg(db, tests)
    else:
        stored = await _insert_new(db, table_of(Measurement), tests)
    return stored | await _insert_new(db, table_of(Ping), checks)


# One statement whatever the batch size: each column travels as one array parameter that
# asyncpg encodes in C, instead of 14 bound parameters per row.
_PG_INSERT_MEASUREMENTS = """
INSERT INTO measurements (uuid, school_id, measured_at, received_at, download_mbps,
    upload_mbps, latency_ms, jitter_ms, packet_loss_pct, source, server, app_version,
    agent_id, raw_result)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[],
    $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::text[],
    $11::text[], $12::text[], $13::uuid[], $14::json[])
ORDER BY 1
ON CONFLICT (uuid) DO NOTHING
RETURNING uuid
"""
_PG_COLUMNS = (
    "uuid",
    "school_id",
    "measured_at",
    "received_at",
    "download_mbps",
    "upload_mbps",
    "latency_ms",
    "jitter_ms",
    "packet_loss_pct",
    "source",
    "server",
    "app_version",
    "agent_id",
)


async def _insert_new_measurements_pg(
    db: AsyncSession, rows: list[dict[str, Any]]
) -> set[uuid.UUID]:
    """PostgreSQL: INSERT ... SELECT FROM unnest(arrays) ON CONFLICT DO NOTHING RETURNING,
    on the session's own connection and transaction (the screening query began it)."""
    if not rows:
        return set()
    connection = await db.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    columns = [[row[name] for row in rows] for name in _PG_COLUMNS]
    raw = [json.dumps(row["raw_result"]) if row["raw_result"] is not None else None for row in rows]
    records = await driver.fetch(_PG_INSERT_MEASUREMENTS, *columns, raw)
    return {uuid.UUID(str(record[0])) for record in records}


async def _note_agents(db: AsyncSession, screened: list[tuple[Submission, Accepted]]) -> None:
    noted = set()
    for submission, accepted in screened:
        agent_id = submission.agent_id
        if agent_id is None or not accepted.items or agent_id in noted:
            continue
        noted.add(agent_id)
        version = next((i.app_version for _, i, _ in accepted.items if i.app_version), None)
        claims = submission.principal.claims
        if await note_agent_seen(db, agent_id, claims.get("last_seen_at"), version):
            claims["last_seen_at"] = utcnow()  # a cached device principal stays current


def _report(
    submission: Submission,
    accepted: Accepted,
    stored: set[uuid.UUID],
    claimed: set[uuid.UUID],
) -> IngestReport:
    mine: set[uuid.UUID] = set()
    for _, item, _ in accepted.items:
        if item.uuid in stored and item.uuid not in claimed:
            claimed.add(item.uuid)
            mine.add(item.uuid)
    problems = sorted([*submission.problems, *accepted.problems], key=lambda p: p.index)
    _count(accepted, problems, submission.items, set(mine))
    return IngestReport(
        received=submission.received,
        stored=len(mine),
        duplicates=len(accepted.items) - len(mine),
        rejected=problems,
    )


async def _derive(
    db: AsyncSession,
    settings: SchoolMonitorSettings,
    new_items: list[tuple[Item, uuid.UUID]],
    countries: dict[uuid.UUID, str],
    now: datetime,
) -> None:
    rollups = RollupBatch()
    observations: dict[uuid.UUID, Observation] = defaultdict(Observation)
    for item, school_id in new_items:
        day = _moment(item).astimezone(now.tzinfo).date()
        figures = rollups.figures(school_id, countries[school_id], day)
        if isinstance(item, MeasurementIn):
            figures.add_measurement(item.download_mbps, item.upload_mbps, item.latency_ms)
            observations[school_id].add_test(
                LatestTest(item.measured_at, item.download_mbps, item.upload_mbps, item.latency_ms)
            )
        else:
            figures.add_ping(item.is_connected)
            observations[school_id].add_ping(item.timestamp, item.is_connected)
    await apply_rollups(db, rollups)
    if observations:
        await apply_observations(db, settings, observations, now)


def _kind(item: Item) -> str:
    return "measurement" if isinstance(item, MeasurementIn) else "ping"


def _count(
    accepted: Accepted,
    problems: list[ItemProblem],
    items: Sequence[tuple[int, Item]],
    stored: set[uuid.UUID],
) -> None:
    by_index = dict(items)
    for _, item, _ in accepted.items:
        if item.uuid in stored:
            MEASUREMENTS_INGESTED.labels(_kind(item), source_label(item.source)).inc()
            stored.discard(item.uuid)  # a UUID twice in one batch counts once
        else:
            MEASUREMENTS_DUPLICATE.labels(_kind(item)).inc()
    for problem in problems:
        known = by_index.get(problem.index)
        kind = _kind(known) if known is not None else "unparsed"
        source = source_label(known.source) if known is not None else "other"
        MEASUREMENTS_REJECTED.labels(kind, problem.reason, source).inc()


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
