"""Example data of the embedded default: the five Rwandan schools connected in 2021 by the
C2R Giga pilot (one hosting refugees, two nine-year basic education, one twelve-year basic
education, one teacher training college), each with a registered Giga Meter agent and a
week of its data, so that the country summary, the daily series, status, uptime and alerts
show something from the first `make run`.

Ids, coordinates and figures are illustrative. The data follow the agent's schedule: up to
four speed tests a day and a ping check every 15 minutes from 8:00 to 20:00, Kigali time
(UTC+2). They go through the ingestion pipeline, as an agent's pushes do, so every rollup,
status and alert is derived from them. Seeding is idempotent: a school with its agent has
been seeded, and is left as it is.
"""

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.db import Database, utcnow
from school_monitor.agents.auth import device_principal
from school_monitor.agents.models import Agent
from school_monitor.agents.service import EnrolledDevice, enrol_device
from school_monitor.config import SchoolMonitorSettings, get_settings
from school_monitor.ingestion import pipeline
from school_monitor.ingestion.submission import Item
from school_monitor.measurements.schemas import MeasurementIn, PingIn
from school_monitor.schools.models import School
from school_monitor.schools.schemas import SchoolIn
from school_monitor.schools.service import create_school

PILOT_TAG = "c2r-giga-rwanda-2021"
# Stable ids of the example data: the same school, agent and measurements on every run.
SEED_NAMESPACE = uuid.UUID("6b0d3c52-1f7e-4a8e-9c2d-5e4f3a2b1c0d")
KIGALI = timedelta(hours=2)
DAYS = 7
SPEED_TEST_HOURS = (9, 11, 14, 17)  # local time
PING_FIRST_HOUR, PING_LAST_HOUR, PING_MINUTES = 8, 20, 15
SERVER = "ndt-mlab1-nbo01.mlab-oti.measurement-lab.org"
APP_VERSION = "1.0.10"


@dataclass(frozen=True)
class Profile:
    """How a school's link behaves over the week (Mbps, ms, share of pings connected)."""

    download: tuple[float, float]
    upload: tuple[float, float]
    latency: tuple[float, float]
    connected: float
    # Days of the week (1 to 7) when the link is slow: falling from good is an alert.
    slow_days: frozenset[int] = frozenset()
    slow_download: tuple[float, float] = (0.2, 0.8)


def seed_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(SEED_NAMESPACE, "/".join(parts))


def _school(number: int, government_id: str, **fields: object) -> SchoolIn:
    return SchoolIn.model_validate(
        {
            "giga_id": str(seed_id("school", str(number))),
            "government_id": government_id,
            "country_iso3": "RWA",
            **fields,
        }
    )


SCHOOLS = [
    _school(
        1,
        "RW-NYG-0101",
        name="Kigeme Refugee Camp School",
        admin1="Southern Province",
        admin2="Nyamagabe",
        latitude=-2.47,
        longitude=29.55,
        education_level="Primary and Secondary",
        connectivity_type="satellite",
        tags=[PILOT_TAG, "refugee-hosting"],
    ),
    _school(
        2,
        "RW-KAY-0202",
        name="Nine-Year Basic Education School A",
        admin1="Eastern Province",
        admin2="Kayonza",
        latitude=-1.90,
        longitude=30.51,
        education_level="Nine-year basic education",
        connectivity_type="fibre",
        tags=[PILOT_TAG],
    ),
    _school(
        3,
        "RW-RUT-0303",
        name="Nine-Year Basic Education School B",
        admin1="Western Province",
        admin2="Rutsiro",
        latitude=-1.93,
        longitude=29.33,
        education_level="Nine-year basic education",
        connectivity_type="4G",
        tags=[PILOT_TAG],
    ),
    _school(
        4,
        "RW-GIC-0404",
        name="Twelve-Year Basic Education School",
        admin1="Northern Province",
        admin2="Gicumbi",
        latitude=-1.58,
        longitude=30.07,
        education_level="Twelve-year basic education",
        connectivity_type="fibre",
        tags=[PILOT_TAG],
    ),
    _school(
        5,
        "RW-HUY-0505",
        name="Teacher Training College",
        admin1="Southern Province",
        admin2="Huye",
        latitude=-2.60,
        longitude=29.74,
        education_level="Teacher training",
        connectivity_type="fibre",
        tags=[PILOT_TAG, "teacher-training"],
    ),
]
PROFILES = [
    # A satellite link: moderate speeds, long round trips.
    Profile(download=(6, 14), upload=(1, 3), latency=(550, 700), connected=0.93),
    # Good, but one slow day: an alert when it falls, another when it recovers.
    Profile(
        download=(25, 45),
        upload=(10, 20),
        latency=(25, 45),
        connected=0.99,
        slow_days=frozenset({3}),
        slow_download=(4, 9),
    ),
    # A weak 4G link that is lost at the end of the week: bad, and often disconnected.
    Profile(
        download=(3, 8),
        upload=(1, 2),
        latency=(60, 120),
        connected=0.8,
        slow_days=frozenset({6, 7}),
    ),
    # Good until it degrades to moderate for the last days: an alert.
    Profile(
        download=(22, 30),
        upload=(5, 12),
        latency=(30, 60),
        connected=0.9,
        slow_days=frozenset({5, 6, 7}),
        slow_download=(5, 12),
    ),
    Profile(download=(40, 80), upload=(15, 30), latency=(15, 30), connected=0.98),
]
# The ids of the first example data, replaced by Giga-style UUIDs: a database seeded then
# keeps its schools, which get the new ids.
LEGACY_GIGA_IDS = {
    school.giga_id: f"c2r-seed-rwa-{number:04d}" for number, school in enumerate(SCHOOLS, 1)
}


async def seed(database: Database, settings: SchoolMonitorSettings | None = None) -> None:
    """Adds what is not there yet: a second run adds nothing."""
    settings = settings or get_settings()
    async with database.sessionmaker() as session:
        schools = [await _ensure_school(session, data) for data in SCHOOLS]
        await session.commit()
    for number, (school, profile) in enumerate(zip(schools, PROFILES, strict=True), 1):
        async with database.sessionmaker() as session:
            await _seed_agent_and_week(session, settings, school, profile, number)
            await session.commit()


async def _ensure_school(session: AsyncSession, data: SchoolIn) -> School:
    giga_ids = [data.giga_id, LEGACY_GIGA_IDS[data.giga_id]]
    found = (await session.scalars(select(School).where(School.giga_id.in_(giga_ids)))).first()
    if found is None:
        return await create_school(session, data)
    found.giga_id, found.government_id = data.giga_id, data.government_id
    return found


async def _seed_agent_and_week(
    session: AsyncSession,
    settings: SchoolMonitorSettings,
    school: School,
    profile: Profile,
    number: int,
) -> None:
    hardware_id = f"C2R-SEED-RWA-{number:04d}-LAB-PC1"
    seeded = await session.scalar(
        select(Agent.id).where(Agent.school_id == school.id, Agent.hardware_id == hardware_id)
    )
    if seeded is not None:
        return
    device = EnrolledDevice(
        hardware_id=hardware_id,
        mac_address=str(seed_id("installation", str(number))),
        os="windows",
        app_version=APP_VERSION,
    )
    agent, _ = await enrol_device(session, school, device, None)
    principal = device_principal(agent, school.country_iso3)
    rng = random.Random(number)
    # Day by day, oldest first, as the agent would have pushed: status changes and alerts
    # come out in the order they happened.
    for day_number, day in enumerate(_week(utcnow()), 1):
        items = _day_of_data(school, profile, day, rng, day_number)
        await pipeline.ingest(session, principal, settings, list(enumerate(items)), [], len(items))


def _week(now: datetime) -> list[date]:
    """The last DAYS local days, today (up to now) included, oldest first."""
    today = (now + KIGALI).date()
    return [today - timedelta(days=back) for back in range(DAYS - 1, -1, -1)]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC) - KIGALI


def _day_of_data(
    school: School, profile: Profile, day: date, rng: random.Random, day_number: int
) -> list[Item]:
    now = utcnow()
    download = profile.slow_download if day_number in profile.slow_days else profile.download
    items: list[Item] = []
    for hour in SPEED_TEST_HOURS:
        moment = _at(day, hour, rng.randrange(60))
        if moment < now:
            items.append(_measurement(school, moment, profile, download, rng))
    for minute in range(0, (PING_LAST_HOUR - PING_FIRST_HOUR) * 60 + 1, PING_MINUTES):
        moment = _at(day, PING_FIRST_HOUR) + timedelta(minutes=minute)
        if moment < now:
            items.append(_ping(school, moment, profile, rng))
    return items


def _measurement(
    school: School,
    moment: datetime,
    profile: Profile,
    download: tuple[float, float],
    rng: random.Random,
) -> MeasurementIn:
    return MeasurementIn(
        uuid=seed_id("measurement", school.giga_id, moment.isoformat()),
        school_id=school.id,
        measured_at=moment,
        download_mbps=round(rng.uniform(*download), 2),
        upload_mbps=round(rng.uniform(*profile.upload), 2),
        latency_ms=round(rng.uniform(*profile.latency)),
        source="DailyCheckApp",
        server=SERVER,
        app_version=APP_VERSION,
    )


def _ping(school: School, moment: datetime, profile: Profile, rng: random.Random) -> PingIn:
    connected = rng.random() < profile.connected
    return PingIn(
        uuid=seed_id("ping", school.giga_id, moment.isoformat()),
        school_id=school.id,
        timestamp=moment,
        is_connected=connected,
        latency_ms=round(rng.uniform(*profile.latency)) if connected else None,
        error=None if connected else "net::ERR_INTERNET_DISCONNECTED",
        source="DailyCheckApp",
        app_version=APP_VERSION,
    )
