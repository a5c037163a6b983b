"""What the Giga Meter agent's enrollment calls answer, from the school registry and the
agents domain. Unknown ids and ids outside the caller's countries get the same answer."""

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.reference import country_by_iso2
from school_monitor.gigameter.enrollment.schemas import GigaCountry
from school_monitor.schools.models import School


async def countries_by_code(db: AsyncSession, principal: Principal, iso2: str) -> list[GigaCountry]:
    """The country of alpha-2 `iso2` when it has schools the caller may see, else none."""
    country = country_by_iso2(iso2)
    if country is None or not principal.can_access_country(country.iso3):
        return []
    has_schools = await db.scalar(select(exists().where(School.country_iso3 == country.iso3)))
    if not has_schools:
        return []
    return [
        GigaCountry(
            id=country.iso3,
            code=iso2.strip().upper(),
            code_iso3=country.iso3,
            name=country.name,
            country_id=country.iso3,
            created_at=None,
        )
    ]
