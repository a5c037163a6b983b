"""Periodic work: the offline sweep (a school turns offline by staying silent, which no
request reveals) and the refresh of the metric gauges from the counters."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.db import Database, utcnow
from c2r_common.settings import Environment
from school_monitor.agents.models import Agent
from school_monitor.config import SchoolMonitorSettings
from school_monitor.ingestion.pipeline import sweep_offline
from school_monitor.metrics import AGENTS_SEEN_24H, SCHOOLS_BY_STATUS
from school_monitor.rollups.models import CountryStats

logger = logging.getLogger("school_monitor.background")
STATUSES = ("good", "moderate", "bad", "unknown")


async def run_once(database: Database, settings: SchoolMonitorSettings) -> int:
    """One round: marks silent schools offline, then refreshes the gauges."""
    async with database.sessionmaker() as session:
        went_offline = await sweep_offline(session, settings, utcnow())
        await session.commit()
    async with database.sessionmaker() as session:
        await refresh_gauges(session)
    return went_offline


async def refresh_gauges(session: AsyncSession) -> None:
    for row in await session.scalars(select(CountryStats)):
        for status in STATUSES:
            SCHOOLS_BY_STATUS.labels(row.country_iso3, status).set(getattr(row, status))
    since = utcnow() - timedelta(hours=24)
    seen = await session.scalar(select(func.count()).where(Agent.last_seen_at >= since))
    AGENTS_SEEN_24H.set(seen or 0)


async def _loop(database: Database, settings: SchoolMonitorSettings) -> None:
    while True:
        try:
            await run_once(database, settings)
        except Exception:  # the loop must outlive a database hiccup
            logger.exception("background round failed")
        await asyncio.sleep(settings.background_interval_seconds)


@contextlib.asynccontextmanager
async def run_background_loop(app: FastAPI) -> AsyncIterator[None]:
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
