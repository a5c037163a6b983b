from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assessment_api.beneficiaries import defaults
from assessment_api.beneficiaries.models import Beneficiary
from assessment_api.beneficiaries.schemas import BeneficiaryIn, BeneficiaryOut
from c2r_common.db import utcnow
from c2r_common.pagination import PageParams, paginate
from c2r_common.problems import NotFound, require_country


def to_out(beneficiary: Beneficiary) -> BeneficiaryOut:
    country = require_country(beneficiary.country_iso3)
    return BeneficiaryOut(
        country_iso3=beneficiary.country_iso3,
        country_name=country.name,
        itu_region=country.itu_region,
        source=beneficiary.source,
        illustrative=beneficiary.illustrative,
        note=beneficiary.note,
        updated_by=beneficiary.updated_by,
        updated_at=beneficiary.updated_at,
    )


async def beneficiary_codes(db: AsyncSession) -> frozenset[str]:
    return frozenset(await db.scalars(select(Beneficiary.country_iso3)))


async def list_beneficiaries(
    db: AsyncSession, page: PageParams
) -> tuple[list[Beneficiary], str | None]:
    return await paginate(db, select(Beneficiary), (Beneficiary.country_iso3,), page)


async def put(db: AsyncSession, iso3: str, data: BeneficiaryIn, actor: str) -> Beneficiary:
    code = require_country(iso3).iso3
    beneficiary = await db.get(Beneficiary, code)
    if beneficiary is None:
        beneficiary = Beneficiary(country_iso3=code)
        db.add(beneficiary)
    beneficiary.source, beneficiary.illustrative, beneficiary.note = (
        data.source,
        data.illustrative,
        data.note,
    )
    beneficiary.updated_by, beneficiary.updated_at = actor, utcnow()
    await db.flush()
    return beneficiary


async def remove(db: AsyncSession, iso3: str) -> None:
    beneficiary = await db.get(Beneficiary, require_country(iso3).iso3)
    if beneficiary is None:
        raise NotFound(f"{iso3.upper()} is not on the beneficiary list.")
    await db.delete(beneficiary)
    await db.flush()


async def seed_defaults(db: AsyncSession, actor: str) -> None:
    """The default list, only into an empty table (edits made through the API stand)."""
    if await db.scalar(select(func.count()).select_from(Beneficiary)):
        return
    for iso3, source in defaults.SOURCED.items():
        db.add(Beneficiary(country_iso3=iso3, source=source, updated_by=actor))
    for iso3 in defaults.ILLUSTRATIVE:
        db.add(
            Beneficiary(
                country_iso3=iso3,
                source=defaults.ILLUSTRATIVE_SOURCE,
                illustrative=True,
                updated_by=actor,
            )
        )
    await db.flush()
