import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.errors import ProblemError
from c2r_common.pagination import PageParams, paginate
from school_monitor.schools.models import School
from school_monitor.schools.schemas import SchoolIn


async def create_school(db: AsyncSession, data: SchoolIn) -> School:
    school = School(**data.model_dump())
    db.add(school)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:
        raise ProblemError(409, f"A school with Giga id {data.giga_id} exists already.") from None
    return school


async def get_school(db: AsyncSession, school_id: uuid.UUID) -> School:
    school = await db.get(School, school_id)
    if school is None:
        raise ProblemError(404, f"No school {school_id}.")
    return school


async def list_schools(
    db: AsyncSession, country_iso3: str | None, page: PageParams
) -> tuple[list[School], str | None]:
    statement = select(School)
    if country_iso3:
        statement = statement.where(School.country_iso3 == country_iso3.upper())
    return await paginate(db, statement, (School.id,), page)
