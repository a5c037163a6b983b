"""Example data for the embedded default, so a newcomer sees a real picture after `make run`.

Facts (ITU, Jan 2021): Mauritania's assessment was completed, accepted by the country and
is being translated into its national language; Zimbabwe's was underway; the Rwanda Giga
pilot connected 5 of the 63 phase-1 schools in 2021. Indicator values and contribution
amounts are illustrative, not official statistics, and say so in their source.
"""

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from assessment_api import flows
from assessment_api.assessments import service as assessments
from assessment_api.assessments.models import Assessment
from assessment_api.assessments.schemas import (
    AssessmentCreate,
    AssessmentStatus,
    TransitionIn,
    TranslationStatus,
)
from assessment_api.indicators import service as indicators
from assessment_api.indicators.schemas import BulkIndicatorValue
from assessment_api.partners import service as partners
from assessment_api.partners.models import Contribution, Partner
from assessment_api.partners.schemas import ContributionIn
from assessment_api.programmes import service as programmes
from assessment_api.programmes.models import Pilot
from assessment_api.programmes.schemas import PilotIn, PilotSiteIn, PilotStatus
from c2r_common.auth import Principal, Scope
from c2r_common.reference import ItuRegion
from c2r_common.schemas import C2RPhase

SEEDER = Principal(subject="seed", scopes=frozenset({Scope.ADMIN}))
ILLUSTRATIVE = "illustrative seed value, not an official statistic"

MAURITANIA_VALUES = {
    "pop_coverage_4g_pct": 62.0,
    "mobile_broadband_subs_per_100": 55.0,
    "internet_users_pct": 44.0,
    "households_internet_pct": 26.0,
    "mobile_phone_ownership_pct": 71.0,
    "mobile_broadband_price_gni_pct": 4.8,
    "fixed_broadband_price_gni_pct": 16.0,
    "basic_digital_skills_pct": 14.0,
    "health_facilities_connected_pct": 22.0,
    "intl_bandwidth_kbps_per_user": 28.0,
    "ixp_count": 0.0,
    "intl_route_count": 1.0,
    "emergency_telecom_plan_tested": 0.0,
    "broadband_plan_funded": 1.0,
    "netp_adopted": 0.0,
    "universal_service_fund_active": 1.0,
}
ZIMBABWE_VALUES = {
    "pop_coverage_4g_pct": 48.0,
    "internet_users_pct": 35.0,
    "mobile_broadband_price_gni_pct": 9.5,
    "intl_route_count": 2.0,
}
RWANDA_PILOT_SITES = (
    ("c2r-seed-rwa-0001", "Kigeme Refugee Camp School", "school_hosting_refugees"),
    ("c2r-seed-rwa-0002", "Nine-Year Basic Education School A", "nine_year_basic"),
    ("c2r-seed-rwa-0003", "Nine-Year Basic Education School B", "nine_year_basic"),
    ("c2r-seed-rwa-0004", "Twelve-Year Basic Education School", "twelve_year_basic"),
    ("c2r-seed-rwa-0005", "Teacher Training College", "teacher_training_college"),
)


def _values(values: dict[str, float], year: int) -> list[BulkIndicatorValue]:
    return [
        BulkIndicatorValue(code=code, value=value, year=year, source=ILLUSTRATIVE)
        for code, value in values.items()
    ]


async def _assessment(
    db: AsyncSession, iso3: str, period: str, title: str, values: dict[str, float]
) -> Assessment:
    data = AssessmentCreate(country_iso3=iso3, period=period, title=title)
    assessment = await assessments.create(db, data, SEEDER)
    await indicators.set_values(db, assessment, _values(values, int(period)), SEEDER)
    return assessment


async def _move(db: AsyncSession, assessment: Assessment, *statuses: AssessmentStatus) -> None:
    for status in statuses:
        await flows.transition(db, assessment, TransitionIn(to=status), SEEDER)


async def seed_assessments(db: AsyncSession) -> None:
    if await assessments.find_by_country_period(db, "MRT", "2021") is not None:
        return
    mauritania = await _assessment(
        db,
        "MRT",
        "2021",
        "Mauritania digital infrastructure and resilience assessment",
        MAURITANIA_VALUES,
    )
    await _move(
        db,
        mauritania,
        AssessmentStatus.DATA_COLLECTION,
        AssessmentStatus.VALIDATION,
        AssessmentStatus.COMPLETED,
        AssessmentStatus.ACCEPTED_BY_COUNTRY,
    )
    # Arabic is Mauritania's national language.
    await assessments.set_translation(db, mauritania, "ar", TranslationStatus.IN_PROGRESS, SEEDER)
    zimbabwe = await _assessment(
        db,
        "ZWE",
        "2022",
        "Zimbabwe digital infrastructure and resilience assessment",
        ZIMBABWE_VALUES,
    )
    await _move(db, zimbabwe, AssessmentStatus.DATA_COLLECTION)


async def seed_rwanda_pilot(db: AsyncSession) -> None:
    if await db.scalar(select(func.count()).select_from(Pilot)):
        return
    pilot = PilotIn(
        name="Giga school connectivity pilot: 5 of the 63 phase-1 schools",
        description="Schools connected in 2021 with Giga (ITU/UNICEF); site ids are "
        "school-monitor's Giga ids.",
        status=PilotStatus.COMPLETED,
        started_on=date(2021, 1, 1),
        partner_name="Giga (ITU/UNICEF)",
        sites=[
            PilotSiteIn(school_id=school_id, name=name, site_type=site_type)
            for school_id, name, site_type in RWANDA_PILOT_SITES
        ],
    )
    await programmes.create_pilot(db, "RWA", pilot, SEEDER.subject)


async def seed_contributions(db: AsyncSession) -> None:
    if await db.scalar(select(func.count()).select_from(Contribution)):
        return
    founding = list(
        await db.scalars(select(Partner).where(Partner.founding).order_by(Partner.name))
    )
    for partner, countries, phases in zip(
        founding,
        (["MRT", "ZWE"], ["RWA"]),
        ([C2RPhase.ASSESSMENT], [C2RPhase.PILOT]),
        strict=False,
    ):
        contribution = ContributionIn(
            partner_id=partner.id,
            amount=Decimal("100000.00"),
            currency="USD",
            contributed_on=date(2021, 1, 15),
            focus_region=ItuRegion.AFRICA,
            countries=countries,
            phases=phases,
            description="illustrative amount: no public source gives it",
            illustrative=True,
        )
        await partners.create_contribution(db, contribution, SEEDER.subject)


async def seed_examples(db: AsyncSession) -> None:
    await seed_assessments(db)
    await seed_rwanda_pilot(db)
    await seed_contributions(db)
