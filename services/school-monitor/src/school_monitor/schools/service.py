import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.db import claim_write_lock
from c2r_common.pagination import PageParams, paginate
from c2r_common.problems import Conflict, NotFound
from c2r_common.schemas import ConnectivityStatus
from school_monitor.ingestion.derive import StatsDelta
from school_monitor.ingestion.writer import add_country_stats
from school_monitor.schools.models import School, SchoolTag
from school_monitor.schools.schemas import (
    GeoJsonFeature,
    GeoJsonGeometry,
    SchoolIn,
    SchoolUpdate,
)
from school_monitor.upsert import table_of


@dataclass(frozen=True)
class SchoolFilters:
    country: str | None = None
    admin1: str | None = None
    status: ConnectivityStatus | None = None
    tag: str | None = None
    education_level: str | None = None
    online: bool | None = None


async def create_school(db: AsyncSession, data: SchoolIn) -> School:
    await claim_write_lock(db)
    school = School(
        **data.model_dump(exclude={"tags"}),
        connectivity_status=ConnectivityStatus.UNKNOWN.value,
        is_online=False,
    )
    school.tag_rows = [SchoolTag(tag=tag) for tag in sorted(set(data.tags))]
    db.add(school)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:
        raise Conflict(f"A school with Giga id {data.giga_id} exists already.") from None
    await add_country_stats(db, {school.country_iso3: StatsDelta(schools_total=1, unknown=1)})
    return school


async def get_school(db: AsyncSession, school_id: uuid.UUID) -> School:
    school = await db.get(School, school_id)
    if school is None:
        raise _no_school(school_id)
    return school


async def visible_school(db: AsyncSession, principal: Principal, school_id: uuid.UUID) -> School:
    """The school, if the caller may see its country; a school of another country answers
    the 404 of a missing one, so its id reveals nothing."""
    school = await db.get(School, school_id)
    if school is None or not principal.can_access_country(school.country_iso3):
        raise _no_school(school_id)
    return school


def _no_school(school_id: uuid.UUID) -> NotFound:
    return NotFound(f"No school {school_id}.")


async def update_school(
    db: AsyncSession, principal: Principal, school_id: uuid.UUID, data: SchoolUpdate
) -> School:
    """Updates the school's master data; the write lock is claimed before the school is
    read (SQLite: a transaction that read first could not write after another writer
    committed, and would be answered 503 instead of waiting)."""
    await claim_write_lock(db)
    school = await visible_school(db, principal, school_id)
    changes = data.model_dump(exclude_unset=True)
    tags = changes.pop("tags", None)
    for name, value in changes.items():
        setattr(school, name, value)
    if tags is not None:
        await replace_tags(db, {school.id: tags})
        await db.refresh(school, ["tag_rows"])
    await db.flush()
    return school


async def replace_tags(db: AsyncSession, tags_by_school: Mapping[uuid.UUID, Iterable[str]]) -> None:
    if not tags_by_school:
        return
    await db.execute(delete(SchoolTag).where(SchoolTag.school_id.in_(tags_by_school)))
    rows = [
        {"school_id": school_id, "tag": tag}
        for school_id, tags in tags_by_school.items()
        for tag in sorted(set(tags))
    ]
    if rows:
        await (await db.connection()).execute(insert(table_of(SchoolTag)), rows)


def filtered_schools(principal: Principal, filters: SchoolFilters) -> Select[School]:
    statement = select(School)
    if filters.country:
        principal.require_country(filters.country)
        statement = statement.where(School.country_iso3 == filters.country.upper())
    elif principal.countries is not None:
        statement = statement.where(School.country_iso3.in_(sorted(principal.countries)))
    if filters.admin1:
        statement = statement.where(School.admin1 == filters.admin1)
    if filters.status:
        statement = statement.where(School.connectivity_status == filters.status.value)
    if filters.education_level:
        statement = statement.where(School.education_level == filters.education_level)
    if filters.online is not None:
        statement = statement.where(School.is_online == filters.online)
    if filters.tag:
        tagged = select(SchoolTag.school_id).where(SchoolTag.tag == filters.tag.lower())
        statement = statement.where(School.id.in_(tagged))
    return statement


async def list_schools(
    db: AsyncSession, principal: Principal, filters: SchoolFilters, page: PageParams
) -> tuple[list[School], str | None]:
    return await paginate(db, filtered_schools(principal, filters), (School.id,), page)


def geojson_feature(school: School) -> GeoJsonFeature:
    has_point = school.latitude is not None and school.longitude is not None
    return GeoJsonFeature(
        id=school.id,
        geometry=GeoJsonGeometry(coordinates=(school.longitude, school.latitude))
        if has_point
        else None,
        properties={
            "giga_id": school.giga_id,
            "name": school.name,
            "country_iso3": school.country_iso3,
            "admin1": school.admin1,
            "education_level": school.education_level,
            "connectivity_status": school.connectivity_status,
            "is_online": school.is_online,
            "latest_download_mbps": school.latest_download_mbps,
            "last_seen_at": school.last_seen_at.isoformat() if school.last_seen_at else None,
            "tags": school.tags,
        },
    )
