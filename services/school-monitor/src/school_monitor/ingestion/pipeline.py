"""The pipeline's stages in order, for one request or a group of single pushes:
screen -> lock the schools' states -> insert the new rows -> derive -> write. The caller
commits, then acknowledges."""

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from operator import attrgetter
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.db import after_commit, claim_write_lock, utcnow
from c2r_common.errors import ProblemError
from school_monitor.agents.service import note_agent_seen
from school_monitor.bulk import Columns
from school_monitor.config import SchoolMonitorSettings
from school_monitor.ingestion import writer
from school_monitor.ingestion.derive import derive, offline_changes
from school_monitor.ingestion.submission import (
    Flag,
    Item,
    ItemKey,
    Screened,
    Submission,
    TimeWindow,
    first_of_each_uuid,
    item_key,
    screen_all,
)
from school_monitor.measurements.schemas import IngestReport, ItemProblem, MeasurementIn, PingIn
from school_monitor.metrics import (
    MEASUREMENTS_DUPLICATE,
    MEASUREMENTS_INGESTED,
    MEASUREMENTS_REJECTED,
    source_label,
)
from school_monitor.schools.models import School


async def ingest(
    db: AsyncSession,
    principal: Principal,
    settings: SchoolMonitorSettings,
    items: Sequence[tuple[int, Item]],
    problems: list[ItemProblem],
    received: int,
    prefix: str = "body.items",
    flags: Mapping[int, Sequence[Flag]] | None = None,
    kind: str = "",
) -> IngestReport:
    """Stores the valid, new items of one request and updates everything derived from them;
    `kind` is the endpoint's, needed when `problems` holds items that did not parse."""
    submission = Submission(principal, items, problems, received, prefix, flags or {}, kind)
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
    now = await writer.transaction_time(db)
    school_ids = {s for submission in submissions for s in submission.school_ids()}
    states = {state.id: state for state in await writer.lock_school_states(db, school_ids)}
    countries = {school_id: state.country_iso3 for school_id, state in states.items()}
    window = TimeWindow(now, timedelta(days=settings.max_measurement_age_days))
    checked = screen_all(submissions, countries, window)
    screened = [outcome for outcome in checked if isinstance(outcome, Screened)]
    accepted = first_of_each_uuid(screened)
    stored = await _insert_new(db, accepted, now)
    await writer.insert_flags(db, _flag_columns(screened, stored, countries, now))
    await _note_agents(db, screened)
    new_items = [(i, school_id) for i, school_id, _ in accepted if item_key(i) in stored]
    await writer.write_deltas(db, derive(settings, new_items, states, now))
    claimed: set[ItemKey] = set()
    tally = IngestTally()
    outcomes = [
        _report(outcome, stored, claimed, tally) if isinstance(outcome, Screened) else outcome
        for outcome in checked
    ]
    after_commit(db, tally.publish)
    return outcomes


async def sweep_offline(db: AsyncSession, settings: SchoolMonitorSettings, now: datetime) -> int:
    """Marks offline the online schools silent for longer than the window; returns how many.

    The candidates are read without a lock, then locked and checked again: a push that
    committed meanwhile keeps its school online.
    """
    await claim_write_lock(db)
    online_since = now - timedelta(minutes=settings.offline_after_minutes)
    stale = select(School.id).where(School.is_online.is_(True), School.last_seen_at < online_since)
    states = await writer.lock_school_states(db, (await db.scalars(stale)).all())
    changes = offline_changes(settings, states, now)
    await writer.write_status_changes(db, changes)
    return len(changes.updates)


async def _insert_new(
    db: AsyncSession, accepted: list[tuple[Item, uuid.UUID, Any]], now: datetime
) -> set[ItemKey]:
    """Inserts the items not stored yet; the keys of those it inserted."""
    stored: set[ItemKey] = set()
    for table, kind in ((writer.MEASUREMENTS, MeasurementIn), (writer.PINGS, PingIn)):
        entries = [entry for entry in accepted if isinstance(entry[0], kind)]
        inserted = await writer.insert_new(db, table, _columns(table, entries, now))
        stored |= {(kind.KIND, inserted_uuid) for inserted_uuid in inserted}
    return stored


def _columns(
    table: writer.BulkTable, entries: Sequence[tuple[Item, uuid.UUID, Any]], now: datetime
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


def _flag_columns(
    screened: list[Screened],
    stored: set[ItemKey],
    countries: dict[uuid.UUID, str],
    now: datetime,
) -> Columns:
    """The flag rows of the newly stored items: each item's flags once, those of the
    first submission that carried it."""
    flagged: set[ItemKey] = set()
    rows: list[tuple[uuid.UUID, str, uuid.UUID, str, str]] = []
    for accepted in screened:
        flags = accepted.submission.flags
        if not flags:
            continue
        schools = {id(item): school_id for item, school_id in accepted.items}
        for index, item in accepted.submission.items:
            key = item_key(item)
            if id(item) not in schools or key not in stored or key in flagged:
                continue
            flagged.add(key)
            school_id = schools[id(item)]
            for flag in flags.get(index, ()):
                rows.append((item.uuid, flag.kind, school_id, countries[school_id], flag.detail))
    names = ("measurement_uuid", "kind", "school_id", "country_iso3", "detail")
    columns: Columns = {name: [row[n] for row in rows] for n, name in enumerate(names)}
    return columns | {"created_at": [now] * len(rows)}


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
            # A cached device principal stays current, once the update is committed: a
            # transaction run again must update the agent again.
            after_commit(db, partial(claims.__setitem__, "last_seen_at", utcnow()))


@dataclass
class IngestTally:
    """What one transaction took in, for the metrics: each counter moved once per label set,
    after the outcomes are known."""

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
    accepted: Screened, stored: set[ItemKey], claimed: set[ItemKey], tally: IngestTally
) -> IngestReport:
    """One request's report; `claimed` keeps an item sent twice from being counted twice."""
    stored_here = 0
    for item, _ in accepted.items:
        key = item_key(item)
        if key in stored and key not in claimed:
            claimed.add(key)
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
            if known is None:  # refused before it parsed: counted as the endpoint's kind
                kind, source = submission.kind, "other"
            else:
                kind, source = known.KIND, known.source
            tally.rejected[(kind, problem.reason, source)] += 1
    return IngestReport(
        received=submission.received,
        stored=stored_here,
        duplicates=len(accepted.items) - stored_here,
        rejected=problems,
    )
