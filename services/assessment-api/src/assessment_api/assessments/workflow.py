"""Lifecycle moves that involve other domains: completion captures live values."""

from sqlalchemy.ext.asyncio import AsyncSession

from assessment_api.assessments import service
from assessment_api.assessments.models import Assessment
from assessment_api.assessments.schemas import AssessmentStatus, TransitionIn
from assessment_api.connectivity.reader import SOURCE_NAME, SchoolMonitorReader
from assessment_api.indicators import service as indicators
from assessment_api.indicators.schemas import BulkIndicatorValue
from c2r_common.auth import Principal


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


async def move(
    db: AsyncSession,
    assessment: Assessment,
    data: TransitionIn,
    principal: Principal,
    reader: SchoolMonitorReader,
) -> Assessment:
    if data.to is AssessmentStatus.COMPLETED:
        service.check_transition(assessment, data.to, principal)
        await service.ensure_required_indicators(db, assessment)
        await capture_live_values(db, assessment, reader, principal)
    return await service.transition(db, assessment, data, principal)
