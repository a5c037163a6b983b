"""Example data of the embedded default: the five Rwandan schools connected in 2021 by the
C2R Giga pilot (one hosting refugees, two nine-year basic education, one twelve-year basic
education, one teacher training college). Ids and coordinates are illustrative."""

from sqlalchemy import select

from c2r_common.db import Database
from school_monitor.schools.models import School
from school_monitor.schools.schemas import SchoolIn
from school_monitor.schools.service import create_school

PILOT_TAG = "c2r-giga-rwanda-2021"

SCHOOLS = [
    SchoolIn(
        giga_id="c2r-seed-rwa-0001",
        name="Kigeme Refugee Camp School",
        country_iso3="RWA",
        admin1="Southern Province",
        admin2="Nyamagabe",
        latitude=-2.47,
        longitude=29.55,
        education_level="Primary and Secondary",
        tags=[PILOT_TAG, "refugee-hosting"],
    ),
    SchoolIn(
        giga_id="c2r-seed-rwa-0002",
        name="Nine-Year Basic Education School A",
        country_iso3="RWA",
        admin1="Eastern Province",
        admin2="Kayonza",
        latitude=-1.90,
        longitude=30.51,
        education_level="Nine-year basic education",
        tags=[PILOT_TAG],
    ),
    SchoolIn(
        giga_id="c2r-seed-rwa-0003",
        name="Nine-Year Basic Education School B",
        country_iso3="RWA",
        admin1="Western Province",
        admin2="Rutsiro",
        latitude=-1.93,
        longitude=29.33,
        education_level="Nine-year basic education",
        tags=[PILOT_TAG],
    ),
    SchoolIn(
        giga_id="c2r-seed-rwa-0004",
        name="Twelve-Year Basic Education School",
        country_iso3="RWA",
        admin1="Northern Province",
        admin2="Gicumbi",
        latitude=-1.58,
        longitude=30.07,
        education_level="Twelve-year basic education",
        tags=[PILOT_TAG],
    ),
    SchoolIn(
        giga_id="c2r-seed-rwa-0005",
        name="Teacher Training College",
        country_iso3="RWA",
        admin1="Southern Province",
        admin2="Huye",
        latitude=-2.60,
        longitude=29.74,
        education_level="Teacher training",
        tags=[PILOT_TAG, "teacher-training"],
    ),
]


async def seed(database: Database) -> None:
    """Adds the schools that are not there yet: a second run adds nothing."""
    async with database.sessionmaker() as session:
        giga_ids = [school.giga_id for school in SCHOOLS]
        existing = set(
            (
                await session.scalars(select(School.giga_id).where(School.giga_id.in_(giga_ids)))
            ).all()
        )
        for school in SCHOOLS:
            if school.giga_id not in existing:
                await create_school(session, school)
        await session.commit()
