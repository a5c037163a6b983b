"""Periodic work: the offline sweep (a school turns offline by staying silent, which no
request reveals), the notification events of the schools' changes, the refresh of the
metric gauges from the counters, and the pruning of expired idempotency keys
(c2r_common.idempotency, under a prune lock of its own).

Several replicas may serve one database. Each round runs under the round lock
(c2r_common.singleton.run_alone), so two replicas never sweep at the same time; a replica
whose round finds the lock taken skips it, as the other is doing that very work. The
domain gauges describe the database, not the process: only the replica holding the
gauge leadership exports them, the others export no such series at all, so a sum over
replicas counts every school once (see the README's metrics section).
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import FastAPI
from prometheus_client import REGISTRY, Gauge
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.db import Database, utcnow
from c2r_common.idempotency import pruning_idempotency_records
from c2r_common.notifications.dispatcher import dispatching
from c2r_common.settings import Environment
from c2r_common.singleton import Leadership, run_alone
from school_monitor.agents.models import Agent
from school_monitor.config import SchoolMonitorSettings
from school_monitor.db import IdempotencyRecord
from school_monitor.ingestion.pipeline import sweep_offline
from school_monitor.metrics import (
    AGENTS_SEEN_24H,
    SCHOOLS_BY_STATUS,
    SCHOOLS_MONITORED,
    SCHOOLS_OFFLINE,
)
from school_monitor.notifications.models import NOTIFICATIONS
from school_monitor.notifications.service import detect_and_emit
from school_monitor.retention.service import maintain_storage
from school_monitor.rollups.models import CountryStats
from school_monitor.schools.models import School

logger = logging.getLogger("school_monitor.background")
STATUSES = ("good", "moderate", "bad", "unknown")
SERVICE = "school-monitor"
ROUND_LOCK = "school-monitor:background-round"
GAUGE_LEADERSHIP = "school-monitor:domain-gauges"
# A leader silent for this many rounds is ended by the server and another takes over.
LEADERSHIP_ROUNDS = 3


@dataclass
class GaugeValues:
    """The domain gauges as one round read them (the areas' after its transaction), applied
    once it committed."""

    schools: dict[tuple[str, str], int] = field(default_factory=dict)  # (country, status)
    monitored: dict[tuple[str, str], int] = field(default_factory=dict)  # (country, admin1)
    offline: dict[tuple[str, str], int] = field(default_factory=dict)  # (country, admin1)
    agents_seen_24h: int = 0


async def run_once(
    database: Database, settings: SchoolMonitorSettings, *, exports_gauges: bool = True
) -> int:
    """One round, unless another replica is running one: marks silent schools offline and,
    on the replica that exports them, refreshes the gauges; returns how many went offline."""

    async def round_work(session: AsyncSession) -> tuple[int, GaugeValues | None]:
        now = utcnow()
        went_offline = await sweep_offline(session, settings, now)
        # The events of the changes, in the transaction that made the last of them.
        await detect_and_emit(session, settings, now)
        return went_offline, (await read_gauges(session) if exports_gauges else None)

    done = await run_alone(database.sessionmaker, ROUND_LOCK, round_work)
    if not done.ran or done.result is None:  # another replica is running the round
        return 0
    went_offline, gauges = done.result
    if gauges is not None:
        await _read_areas(database, gauges)
        export_gauges(gauges)
    await maintain_storage(database, settings)  # partitions, retention, UUID keys
    return went_offline


async def read_gauges(session: AsyncSession) -> GaugeValues:
    values = GaugeValues()
    for row in await session.scalars(select(CountryStats)):
        for status in STATUSES:
            values.schools[(row.country_iso3, status)] = getattr(row, status)
    since = utcnow() - timedelta(hours=24)
    seen = await session.scalar(select(func.count()).where(Agent.last_seen_at >= since))
    values.agents_seen_24h = seen or 0
    return values


async def _read_areas(database: Database, values: GaugeValues) -> None:
    """Monitored and offline schools per area, in one pass over the schools: a school is
    monitored once it reported (it has a last_seen_at); it stays so while offline. The
    areas are the master data's admin1 values, a few tens per country, so the series stay
    bounded (metrics.SCHOOLS_OFFLINE). Read after the round committed, in a transaction of
    its own: on SQLite the round holds the write lock, and this pass (about 0.1 s at 100,000
    schools) must not make the pushes wait."""
    admin1 = func.coalesce(School.admin1, "")
    offline = func.count(case((School.is_online.is_(False), 1)))
    by_area = (
        select(School.country_iso3, admin1, func.count(), offline)
        .where(School.last_seen_at.is_not(None))
        .group_by(School.country_iso3, admin1)
    )
    async with database.sessionmaker() as session:
        rows = (await session.execute(by_area)).all()
    for country, area, monitored, offline_now in rows:
        values.monitored[(country, area)] = monitored
        values.offline[(country, area)] = offline_now


def export_gauges(values: GaugeValues) -> None:
    _export(SCHOOLS_BY_STATUS, values.schools)
    _export(SCHOOLS_MONITORED, values.monitored)
    _export(SCHOOLS_OFFLINE, values.offline)
    AGENTS_SEEN_24H.set(values.agents_seen_24h)
    _register(AGENTS_SEEN_24H)


def _export(gauge: Gauge, counts: dict[tuple[str, str], int]) -> None:
    for labels, count in counts.items():
        gauge.labels(*labels).set(count)
    for stale in _exported_labels(gauge) - counts.keys():
        gauge.remove(*stale)  # a country or area no longer counted


def _exported_labels(gauge: Gauge) -> set[tuple[str, ...]]:
    return {
        tuple(sample.labels.values()) for metric in gauge.collect() for sample in metric.samples
    }


def withdraw_gauges() -> None:
    """Exports no domain series at all: not zeros, which would read as "no school is good"
    on this replica and fire alerts. A gauge without labels has no series to remove, so it
    leaves the registry until this replica leads again."""
    for gauge in (SCHOOLS_BY_STATUS, SCHOOLS_MONITORED, SCHOOLS_OFFLINE):
        gauge.clear()
    with contextlib.suppress(KeyError):  # already withdrawn
        REGISTRY.unregister(AGENTS_SEEN_24H)


def _register(collector: object) -> None:
    with contextlib.suppress(ValueError):  # already registered
        REGISTRY.register(collector)  # type: ignore[arg-type]


async def run_round(
    database: Database, settings: SchoolMonitorSettings, leadership: Leadership
) -> int:
    """A round of the loop: the sweep on every replica (one at a time), the gauges on the
    leader only; a replica that lost the lead withdraws its gauges at once."""
    leads = await leadership.check()
    if not leads:
        withdraw_gauges()
    return await run_once(database, settings, exports_gauges=leads)


async def _loop(database: Database, settings: SchoolMonitorSettings) -> None:
    interval = settings.background_interval_seconds
    leadership = Leadership(database.engine, GAUGE_LEADERSHIP, interval * LEADERSHIP_ROUNDS + 5)
    try:
        while True:
            try:
                await run_round(database, settings, leadership)
            except Exception:  # the loop must outlive a database hiccup
                logger.exception("background round failed")
            await asyncio.sleep(interval)
    finally:
        await leadership.aclose()


@contextlib.asynccontextmanager
async def run_background_loop(app: FastAPI) -> AsyncIterator[None]:
    """The rounds, the notification dispatcher and the pruning of expired idempotency keys,
    for the app's lifetime."""
    database: Database = app.state.database
    async with (
        pruning_idempotency_records(database, IdempotencyRecord, SERVICE, app.state.settings),
        dispatching(database, NOTIFICATIONS, app.state.settings, SERVICE) as dispatcher,
        _run_rounds(app),
    ):
        app.state.notification_dispatcher = dispatcher
        yield


@contextlib.asynccontextmanager
async def _run_rounds(app: FastAPI) -> AsyncIterator[None]:
    """Runs the loop for the app's lifetime; not under test, where each test drives
    `run_once` itself inside its rolled-back transaction."""
    settings: SchoolMonitorSettings = app.state.settings
    if settings.environment is Environment.TEST or settings.background_interval_seconds == 0:
        yield
        return
    task = asyncio.create_task(_loop(app.state.database, settings))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
