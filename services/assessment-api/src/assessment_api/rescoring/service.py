"""Re-scoring: an assessment's values scored under another methodology version, previewed
without storing, then kept as a copy pinned to that version, so that a country's series can
be read under one version throughout."""

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from assessment_api.assessments import lifecycle
from assessment_api.assessments import service as assessments
from assessment_api.assessments.models import Assessment
from assessment_api.assessments.schemas import AssessmentStatus
from assessment_api.connectivity.reader import SchoolMonitorReader
from assessment_api.indicators import service as indicators
from assessment_api.indicators.models import IndicatorValue, IndicatorValueChange
from assessment_api.methodology import service as methodologies
from assessment_api.methodology.models import Methodology
from assessment_api.methodology.schemas import MethodologyDefinition
from assessment_api.rescoring.schemas import NotCarried, RescoreIn, RescorePreview
from assessment_api.scoring import engine
from assessment_api.scoring import service as scoring
from assessment_api.scoring.schemas import Outcome
from c2r_common.auth import Principal
from c2r_common.errors import ProblemError
from c2r_common.problems import Conflict, InvalidField

TITLE_MAX = 300


def carry(
    definition: MethodologyDefinition, version: int, values: Mapping[str, float]
) -> tuple[list[str], list[NotCarried]]:
    """The codes of `values` that methodology `version` takes, and why it cannot take the
    others (its indicator is gone, or its unit there refuses the value)."""
    kept: list[str] = []
    left: list[NotCarried] = []
    for code, value in sorted(values.items()):
        indicator = definition.indicator(code)
        if indicator is None:
            left.append(
                NotCarried(code=code, reason=f"no indicator {code} in methodology v{version}")
            )
        elif (problem := indicators.unit_problem(indicator.unit, value)) is not None:
            left.append(NotCarried(code=code, reason=f"in methodology v{version}, {problem}"))
        else:
            kept.append(code)
    return kept, left


def copy_status(source: AssessmentStatus, missing_required: bool) -> AssessmentStatus:
    """The status of a re-scored copy. An open assessment's copy is as open as it is; a
    finished one's is completed (its values were validated, but acceptance and publication
    are acts to take again under the new version) or, when the new version requires an
    indicator it has no value for, back in validation."""
    if source in lifecycle.EDITABLE_STATUSES:
        return source
    return AssessmentStatus.VALIDATION if missing_required else AssessmentStatus.COMPLETED


def rescored_inputs(
    current: scoring.ScoringInputs, definition: MethodologyDefinition, kept: list[str]
) -> scoring.ScoringInputs:
    """`current` (stored and live values) as scored under `definition`, keeping `kept`."""
    # Live readings (an open assessment's) count too, where the version has the indicator.
    codes = set(kept) | {c for c in current.origins if definition.indicator(c) is not None}
    return scoring.ScoringInputs(
        definition=definition,
        values={c: v for c, v in current.values.items() if c in codes},
        groups=current.groups,
        unavailable={c: r for c, r in current.unavailable.items() if definition.indicator(c)},
        origins={c: o for c, o in current.origins.items() if c in codes},
        provenance={c: p for c, p in current.provenance.items() if c in codes},
    )


async def target_methodology(
    db: AsyncSession, assessment: Assessment, version: int | None, field: str
) -> Methodology:
    target = (
        await methodologies.latest(db) if version is None else await db.get(Methodology, version)
    )
    if target is None:
        raise InvalidField(
            field, "unknown version", f"No methodology version {version} has been published."
        )
    if target.version == assessment.methodology_version:
        raise InvalidField(
            field,
            "the assessment's own version",
            f"The assessment is already scored under methodology v{target.version}.",
        )
    return target


async def copy_under(db: AsyncSession, assessment: Assessment, version: int) -> Assessment | None:
    """The assessment of the same country and period pinned to `version`, if there is one."""
    return await db.scalar(
        select(Assessment).where(
            Assessment.country_iso3 == assessment.country_iso3,
            Assessment.period == assessment.period,
            Assessment.methodology_version == version,
        )
    )


async def preview(
    db: AsyncSession, assessment: Assessment, reader: SchoolMonitorReader, version: int | None
) -> RescorePreview:
    target = await target_methodology(db, assessment, version, "query.methodology_version")
    definition = methodologies.definition_of(target)
    current = await scoring.live_inputs(db, assessment, reader)
    stored = await indicators.current_values(db, assessment)
    kept, left = carry(definition, target.version, {c: r.value for c, r in stored.items()})
    before = scoring.card_of(current)
    inputs = rescored_inputs(current, definition, kept)
    after = scoring.card_of(inputs)
    existing = await copy_under(db, assessment, target.version)
    change = None
    if after.overall is not None and before.overall is not None:
        change = round(after.overall - before.overall, engine.DECIMALS)
    return RescorePreview(
        assessment_id=assessment.id,
        country_iso3=assessment.country_iso3,
        period=assessment.period,
        status=assessment.status,
        from_version=assessment.methodology_version,
        to_version=target.version,
        current=Outcome(overall=before.overall, band=before.band),
        overall_change=change,
        band_changed=after.band is not before.band,
        scores=after,
        gaps=engine.gap_report(definition, inputs.values, groups=inputs.groups),
        not_carried=left,
        existing_assessment_id=existing.id if existing else None,
    )


def _exists(existing: Assessment, version: int) -> ProblemError:
    return Conflict(
        f"The assessment already has a re-scored copy under methodology v{version}.",
        problem_type="assessment-exists",
        extra={"existing_assessment_id": str(existing.id)},
    )


def _copy_value(copy: Assessment, row: IndicatorValue, actor: str) -> list[object]:
    """The value and its first history entry in the copy, provenance and all."""
    fields = {
        "indicator_code": row.indicator_code,
        "value": row.value,
        "year": row.year,
        "source": row.source,
        "note": row.note,
        "provenance": row.provenance,
        "source_url": row.source_url,
    }
    return [
        IndicatorValue(
            assessment_id=copy.id, updated_by=row.updated_by, updated_at=row.updated_at, **fields
        ),
        IndicatorValueChange(assessment_id=copy.id, changed_by=actor, **fields),
    ]


async def rescore(
    db: AsyncSession, assessment: Assessment, data: RescoreIn, principal: Principal
) -> tuple[Assessment, list[NotCarried]]:
    """A new assessment with the values of `assessment`, pinned to another version; the
    original is left as it is. All of it is stored, or nothing."""
    target = await target_methodology(
        db, assessment, data.methodology_version, "body.methodology_version"
    )
    existing = await copy_under(db, assessment, target.version)
    if existing is not None:
        raise _exists(existing, target.version)
    definition = methodologies.definition_of(target)
    stored = await indicators.current_values(db, assessment)
    kept, left = carry(definition, target.version, {c: r.value for c, r in stored.items()})
    missing = [i.code for i in definition.indicators() if i.required and i.code not in kept]
    suffix = f" (methodology v{target.version})"
    copy = Assessment(
        country_iso3=assessment.country_iso3,
        period=assessment.period,
        title=assessment.title[: TITLE_MAX - len(suffix)] + suffix,
        methodology_version=target.version,
        status=copy_status(AssessmentStatus(assessment.status), bool(missing)),
        source_request_id=assessment.source_request_id,
        rescored_from_id=assessment.id,
        created_by=principal.subject,
        translations=[],
    )
    try:
        async with db.begin_nested():
            db.add(copy)
    except IntegrityError:
        raced = await copy_under(db, assessment, target.version)
        if raced is None:
            raise
        raise _exists(raced, target.version) from None
    for code in kept:
        db.add_all(_copy_value(copy, stored[code], principal.subject))
    detail = {
        "rescored_from": str(assessment.id),
        "from_version": assessment.methodology_version,
        "to_version": target.version,
        "not_carried": [n.code for n in left],
    }
    assessments.record(db, copy, principal.subject, "rescored_from", detail)
    assessments.record(
        db, assessment, principal.subject, "rescored_to", detail | {"copy": str(copy.id)}
    )
    await db.flush()
    return copy, left
