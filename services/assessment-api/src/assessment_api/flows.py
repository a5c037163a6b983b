"""Orchestration that spans domains: an assessment's lifecycle moves that look at its
indicator values. The indicators domain depends on the assessments domain (a value belongs
to an assessment); what needs both lives here, so that neither calls the other back."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assessment_api.assessments import service as assessments
from assessment_api.assessments.models import Assessment
from assessment_api.assessments.schemas import AssessmentStatus, TransitionIn
from assessment_api.connectivity.reader import SOURCE_NAME, SchoolMonitorReader
from assessment_api.indicators import service as indicators
from assessment_api.indicators.models import IndicatorValue
from assessment_api.indicators.schemas import BulkIndicatorValue
from assessment_api.methodology import service as methodologies
from c2r_common.auth import Principal
from c2r_common.problems import Conflict


async def missing_required_indicators(db: AsyncSession, assessment: Assessment) -> list[str]:
    definition = methodologies.definition_of(
        await methodologies.get_version(db, assessment.methodology_version)
    )
    present = set(
        await db.scalars(
            select(IndicatorValue.indicator_code).where(
                IndicatorValue.assessment_id == assessment.id
            )
        )
    )
    return [i.code for i in definition.indicators() if i.required and i.code not in present]


async def ensure_required_indicators(db: AsyncSession, assessment: Assessment) -> None:
    missing = await missing_required_indicators(db, assessment)
    if missing:
        raise Conflict(
            f"Required indicators are missing: {', '.join(missing)}.",
            problem_type="required-indicators-missing",
            extra={"missing_indicators": missing},
        )


async def capture_live_values(
    db: AsyncSession, assessment: Assessment, reader: SchoolMonitorReader, principal: Principal
) -> None:
    """Stores the live readings as the assessment's values, so the completed report keeps
    the numbers it was scored with. A failed read leaves the entered value, if any."""
    definition = await indicators.definition_for(db, assessment)
    live = [i for i in definition.indicators() if i.live_source == SOURCE_NAME]
    if not live:
        return
    reading = await reader.schools_connected(assessment.country_iso3)  # once for them all
    if reading.value is None or reading.as_of is None:
        return
    entries = [
        BulkIndicatorValue(
            code=indicator.code,
            value=reading.value,
            year=reading.as_of.year,
            source=f"school-monitor connectivity summary as of {reading.as_of.isoformat()}",
            note="captured from school-monitor when the assessment was completed",
        )
        for indicator in live
    ]
    await indicators.set_values(db, assessment, entries, principal)


async def transition(
    db: AsyncSession, assessment: Assessment, data: TransitionIn, principal: Principal
) -> Assessment:
    """A lifecycle move; an assessment is completed only with every required indicator."""
    if data.to is AssessmentStatus.COMPLETED:
        assessments.check_transition(assessment, data.to, principal)
        await ensure_required_indicators(db, assessment)
    return await assessments.transition(db, assessment, data, principal)


async def move(
    db: AsyncSession,
    assessment: Assessment,
    data: TransitionIn,
    principal: Principal,
    reader: SchoolMonitorReader,
) -> Assessment:
    """A move asked for over HTTP: completion also captures the live values."""
    if data.to is AssessmentStatus.COMPLETED:
        assessments.check_transition(assessment, data.to, principal)
        await ensure_required_indicators(db, assessment)
        await capture_live_values(db, assessment, reader, principal)
    return await assessments.transition(db, assessment, data, principal)
