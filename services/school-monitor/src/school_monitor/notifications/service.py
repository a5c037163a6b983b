"""Detects the changes worth an event and emits them into the outbox, in the caller's
transaction: the background round's, the one that also marks silent schools offline
(school_monitor.background), under the round lock, so once across replicas.

Each round compares the schools' status with the status last notified
(SchoolNoticeState): a change that held for notify_min_duration_minutes is one event.
Area outages are looked at first, so that the schools of an area gone dark together make
one event naming them all, and none of their own.
"""

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.notifications.catalogue import (
    AgentSilent,
    AreaOutage,
    AreaRecovered,
    AreaSchool,
    SchoolBelowBenchmark,
    SchoolEvent,
    SchoolOffline,
    SchoolOnline,
    SchoolRecovered,
)
from c2r_common.notifications.events import Event, EventData
from c2r_common.notifications.outbox import emit
from c2r_common.schemas import ConnectivityStatus
from school_monitor.agents.models import Agent
from school_monitor.config import SchoolMonitorSettings
from school_monitor.notifications.models import (
    NOTIFICATIONS,
    AgentSilenceNotice,
    AreaOutageState,
    SchoolNoticeState,
)
from school_monitor.notifications.rules import (
    WHOLE_COUNTRY,
    AreaCount,
    held_long_enough,
    outage_ends,
    outage_starts,
)
from school_monitor.schools.models import School
from school_monitor.status.classification import AlertKind, speed_alert

SOURCE = "/school-monitor"
EVENT_TYPES = (
    SchoolOffline.event_type,
    SchoolOnline.event_type,
    SchoolBelowBenchmark.event_type,
    SchoolRecovered.event_type,
    AreaOutage.event_type,
    AreaRecovered.event_type,
    AgentSilent.event_type,
)
AreaKey = tuple[str, str]  # (country, WHOLE_COUNTRY or admin1)


async def detect_and_emit(db: AsyncSession, settings: SchoolMonitorSettings, now: datetime) -> int:
    """Emits this round's events; how many."""
    emitted, in_outage = await _area_outages(db, settings, now)
    emitted += await _school_changes(db, settings, now, in_outage)
    emitted += await _silent_agents(db, settings, now)
    return emitted


async def _emit(db: AsyncSession, data: EventData, now: datetime, key: str) -> int:
    event = Event.of(data, source=SOURCE, time=now, key=key)
    return int(await emit(db, event, NOTIFICATIONS, now))


# --- area outages ----------------------------------------------------------------------


async def _area_counts(
    db: AsyncSession, settings: SchoolMonitorSettings, now: datetime
) -> dict[AreaKey, AreaCount]:
    """Per admin1 and per whole country, in one pass over the reporting schools."""
    window_start = now - timedelta(minutes=settings.area_outage_window_minutes)
    offline = School.is_online.is_(False)
    recent = and_(offline, School.status_changed_at >= window_start)
    admin1 = func.coalesce(School.admin1, "")
    statement = (
        select(
            School.country_iso3,
            admin1,
            func.count(),
            func.count(case((offline, 1))),
            func.count(case((recent, 1))),
        )
        .where(School.last_seen_at.is_not(None))
        .group_by(School.country_iso3, admin1)
    )
    counts: dict[AreaKey, AreaCount] = {}
    countries: dict[str, AreaCount] = defaultdict(lambda: AreaCount(0, 0, 0))
    for country, area, monitored, off, recently in (await db.execute(statement)).all():
        counts[(country, area)] = AreaCount(monitored, off, recently)
        countries[country] = countries[country] + counts[(country, area)]
    counts.update({(country, WHOLE_COUNTRY): count for country, count in countries.items()})
    return counts


async def _area_outages(
    db: AsyncSession, settings: SchoolMonitorSettings, now: datetime
) -> tuple[int, set[AreaKey]]:
    """Starts and ends the outages; the areas in outage after this round."""
    counts = await _area_counts(db, settings, now)
    active = {(o.country_iso3, o.area): o for o in await db.scalars(select(AreaOutageState))}
    emitted = 0
    for key, outage in list(active.items()):
        count = counts.get(key, AreaCount(0, 0, 0))
        if outage_ends(count, settings.area_recovery_share):
            emitted += await _end_outage(db, outage, count, now)
            del active[key]
            emitted += await _release_absorbed(db, key, set(active), now)
    # Whole countries first: a country in outage raises no event per area besides.
    for key in sorted(counts, key=lambda k: (k[0], k[1] != WHOLE_COUNTRY, k[1])):
        country_out = (key[0], WHOLE_COUNTRY) in active
        if key in active or (country_out and key[1] != WHOLE_COUNTRY):
            continue
        if outage_starts(counts[key], settings.area_outage_share, settings.area_outage_min_schools):
            active[key] = await _start_outage(db, key, counts[key], now)
            emitted += 1
    return emitted, set(active)


def _admin1_of(area: str) -> str | None:
    # Schools without an admin1 are grouped under "": their events say null, as the school does.
    return None if area in (WHOLE_COUNTRY, "") else area


async def _release_absorbed(
    db: AsyncSession, ended: AreaKey, still_out: set[AreaKey], now: datetime
) -> int:
    """The schools of an ended outage still offline get their own offline event now,
    unless another outage still covers them: the area's recovery said nothing of them."""
    state = SchoolNoticeState
    rows = await db.execute(
        select(School, state)
        .join(state, state.school_id == School.id)
        .where(*_area_filter(ended), School.is_online.is_(False), state.absorbed.is_(True))  # type: ignore[arg-type]
        .order_by(School.id)
    )
    emitted = 0
    for school, notice in rows.all():
        areas = {(school.country_iso3, WHOLE_COUNTRY), (school.country_iso3, school.admin1 or "")}
        if areas & still_out:
            continue
        notice.absorbed = False
        event = SchoolOffline(**_school_fields(school, now))
        emitted += await _emit(db, event, now, (school.status_changed_at or now).isoformat())
    return emitted


def _area_filter(key: AreaKey) -> list[object]:
    country, area = key
    conditions: list[object] = [School.country_iso3 == country, School.last_seen_at.is_not(None)]
    if area != WHOLE_COUNTRY:
        conditions.append(func.coalesce(School.admin1, "") == area)
    return conditions


async def _start_outage(
    db: AsyncSession, key: AreaKey, count: AreaCount, now: datetime
) -> AreaOutageState:
    rows = await db.execute(
        select(School.id, School.giga_id, School.name)
        .where(*_area_filter(key), School.is_online.is_(False))  # type: ignore[arg-type]
        .order_by(School.giga_id)
    )
    schools = [AreaSchool(school_id=i, giga_id=g, name=n) for i, g, n in rows.all()]
    country, area = key
    data = AreaOutage(
        country_iso3=country,
        admin1=_admin1_of(area),
        monitored=count.monitored,
        offline=count.offline,
        started_at=now,
        schools=schools,
    )
    await _emit(db, data, now, now.isoformat())
    outage = AreaOutageState(country_iso3=country, area=area, started_at=now)
    db.add(outage)
    await db.flush()
    return outage


async def _end_outage(
    db: AsyncSession, outage: AreaOutageState, count: AreaCount, now: datetime
) -> int:
    data = AreaRecovered(
        country_iso3=outage.country_iso3,
        admin1=_admin1_of(outage.area),
        monitored=count.monitored,
        offline=count.offline,
        started_at=outage.started_at,
        recovered_at=now,
    )
    emitted = await _emit(db, data, now, outage.started_at.isoformat())
    await db.delete(outage)
    await db.flush()
    return emitted


# --- schools ---------------------------------------------------------------------------


async def _school_changes(
    db: AsyncSession, settings: SchoolMonitorSettings, now: datetime, in_outage: set[AreaKey]
) -> int:
    state = SchoolNoticeState
    differs = or_(
        state.school_id.is_(None),
        state.is_online != School.is_online,
        state.connectivity_status != School.connectivity_status,
    )
    rows = await db.execute(
        select(School, state)
        .outerjoin(state, state.school_id == School.id)
        .where(School.last_seen_at.is_not(None), differs)
        .order_by(School.id)
    )
    minimum = timedelta(minutes=settings.notify_min_duration_minutes)
    emitted = 0
    for school, notice in rows.all():
        if notice is None:  # first seen: the baseline, not a change anyone must act on
            db.add(_baseline(school))
        elif held_long_enough(school.status_changed_at, now, minimum):
            emitted += await _school_change(db, settings, school, notice, in_outage, now)
    await db.flush()
    return emitted


def _baseline(school: School) -> SchoolNoticeState:
    return SchoolNoticeState(
        school_id=school.id,
        is_online=school.is_online,
        connectivity_status=school.connectivity_status,
        absorbed=False,
    )


async def _school_change(
    db: AsyncSession,
    settings: SchoolMonitorSettings,
    school: School,
    notice: SchoolNoticeState,
    in_outage: set[AreaKey],
    now: datetime,
) -> int:
    events: list[SchoolEvent] = []
    if notice.is_online and not school.is_online:
        areas = {(school.country_iso3, WHOLE_COUNTRY), (school.country_iso3, school.admin1 or "")}
        notice.absorbed = bool(areas & in_outage)
        if not notice.absorbed:
            events.append(SchoolOffline(**_school_fields(school, now)))
    elif not notice.is_online and school.is_online:
        if not notice.absorbed:
            events.append(SchoolOnline(**_school_fields(school, now)))
        notice.absorbed = False
    kind = speed_alert(
        ConnectivityStatus(notice.connectivity_status),
        ConnectivityStatus(school.connectivity_status),
    )
    if kind is not None:
        benchmark = settings.benchmark_for(school.country_iso3)
        speed = {"download_mbps": school.latest_download_mbps, "benchmark_mbps": benchmark}
        model = SchoolBelowBenchmark if kind is AlertKind.FELL_BELOW_BENCHMARK else SchoolRecovered
        events.append(model(**_school_fields(school, now), **speed))
    notice.is_online = school.is_online
    notice.connectivity_status = school.connectivity_status
    key = (school.status_changed_at or now).isoformat()
    return sum([await _emit(db, event, now, key) for event in events])


def _school_fields(school: School, now: datetime) -> dict[str, object]:
    return {
        "school_id": school.id,
        "giga_id": school.giga_id,
        "name": school.name,
        "country_iso3": school.country_iso3,
        "admin1": school.admin1,
        "changed_at": school.status_changed_at or now,
    }


# --- agents ----------------------------------------------------------------------------


async def _silent_agents(db: AsyncSession, settings: SchoolMonitorSettings, now: datetime) -> int:
    """One event per silence: an agent silent for agent_silent_days, once, until it pushes
    again (a later silence is a new one)."""
    cutoff = now - timedelta(days=settings.agent_silent_days)
    notice = AgentSilenceNotice
    rows = await db.execute(
        select(Agent, School.name, School.country_iso3)
        .join(School, School.id == Agent.school_id)
        .outerjoin(notice, notice.agent_id == Agent.id)
        .where(
            Agent.revoked_at.is_(None),
            Agent.last_seen_at < cutoff,
            or_(notice.agent_id.is_(None), notice.last_seen_at != Agent.last_seen_at),
        )
        .order_by(Agent.id)
    )
    emitted = 0
    for agent, school_name, country in rows.all():
        assert agent.last_seen_at is not None  # compared above
        data = AgentSilent(
            agent_id=agent.id,
            school_id=agent.school_id,
            school_name=school_name,
            country_iso3=country,
            last_seen_at=agent.last_seen_at,
            days=(now - agent.last_seen_at).days,
        )
        emitted += await _emit(db, data, now, agent.last_seen_at.isoformat())
        await db.merge(notice(agent_id=agent.id, last_seen_at=agent.last_seen_at))
    return emitted
