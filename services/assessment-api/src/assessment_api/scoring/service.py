"""Gathers an assessment's inputs (stored values, live school connectivity) and scores them."""

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assessment_api.assessments import lifecycle
from assessment_api.assessments.models import Assessment
from assessment_api.assessments.schemas import AssessmentStatus
from assessment_api.connectivity.reader import SOURCE_NAME, SchoolMonitorReader
from assessment_api.indicators import service as indicators
from assessment_api.indicators.models import IndicatorValue
from assessment_api.indicators.schemas import Provenance
from assessment_api.methodology import service as methodologies
from assessment_api.methodology.models import Methodology
from assessment_api.methodology.schemas import CountryGroup, MethodologyDefinition
from assessment_api.scoring import engine
from assessment_api.scoring.schemas import (
    AssessmentGaps,
    AssessmentScores,
    Outcome,
    ScoreCard,
    WhatIfIn,
    WhatIfResult,
)
from c2r_common.reference import country_by_iso3


@dataclass
class ScoringInputs:
    definition: MethodologyDefinition
    values: dict[str, float]
    groups: tuple[CountryGroup, ...]
    unavailable: dict[str, str] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    provenance: dict[str, Provenance] = field(default_factory=dict)


def groups_of(iso3: str) -> tuple[CountryGroup, ...]:
    country = country_by_iso3(iso3)
    if country is None:
        return (CountryGroup.ALL,)
    return engine.country_groups(ldc=country.ldc, developing=country.developing)


def is_open(assessment: Assessment) -> bool:
    return AssessmentStatus(assessment.status) in lifecycle.EDITABLE_STATUSES


async def stored_inputs(db: AsyncSession, assessment: Assessment) -> ScoringInputs:
    stored = await indicators.current_values(db, assessment)
    return ScoringInputs(
        definition=await indicators.definition_for(db, assessment),
        values={code: row.value for code, row in stored.items()},
        groups=groups_of(assessment.country_iso3),
        provenance={code: Provenance(row.provenance) for code, row in stored.items()},
    )


async def stored_inputs_many(
    db: AsyncSession, assessments: Sequence[Assessment]
) -> dict[uuid.UUID, ScoringInputs]:
    """Stored inputs of many assessments in two queries, whatever their number."""
    ids = [a.id for a in assessments]
    values: dict[uuid.UUID, dict[str, float]] = defaultdict(dict)
    provenance: dict[uuid.UUID, dict[str, Provenance]] = defaultdict(dict)
    rows = await db.scalars(select(IndicatorValue).where(IndicatorValue.assessment_id.in_(ids)))
    for row in rows:
        values[row.assessment_id][row.indicator_code] = row.value
        provenance[row.assessment_id][row.indicator_code] = Provenance(row.provenance)
    versions = {a.methodology_version for a in assessments}
    stored = await db.scalars(select(Methodology).where(Methodology.version.in_(versions)))
    definitions = {m.version: methodologies.definition_of(m) for m in stored}
    return {
        a.id: ScoringInputs(
            definition=definitions[a.methodology_version],
            values=values[a.id],
            groups=groups_of(a.country_iso3),
            provenance=provenance[a.id],
        )
        for a in assessments
    }


async def _add_live_values(inputs: ScoringInputs, iso3: str, reader: SchoolMonitorReader) -> None:
    live = [i for i in inputs.definition.indicators() if i.live_source == SOURCE_NAME]
    for indicator in live:
        reading = await reader.schools_connected(iso3)
        if reading.value is not None:
            inputs.values[indicator.code] = reading.value
            inputs.origins[indicator.code] = SOURCE_NAME
            inputs.provenance[indicator.code] = Provenance.REPORTED  # measured
        else:
            inputs.unavailable[indicator.code] = reading.reason or "no value"


async def live_inputs(
    db: AsyncSession, assessment: Assessment, reader: SchoolMonitorReader
) -> ScoringInputs:
    """Stored values, plus live readings while the assessment is open.

    Once completed, an assessment is scored from its stored values only, so a report's
    numbers never drift (the live value is captured into the stored ones on completion).
    While open, a live reading wins over an entered value; when the live source fails, an
    entered value is used if there is one, otherwise the indicator is unavailable.
    """
    inputs = await stored_inputs(db, assessment)
    if is_open(assessment):
        await _add_live_values(inputs, assessment.country_iso3, reader)
    return inputs


async def scores(
    db: AsyncSession, assessment: Assessment, reader: SchoolMonitorReader
) -> AssessmentScores:
    inputs = await live_inputs(db, assessment, reader)
    return scores_from(assessment, inputs)


def scores_from(assessment: Assessment, inputs: ScoringInputs) -> AssessmentScores:
    card = card_of(inputs)
    return AssessmentScores(**_identity(assessment), **card.model_dump())


async def gaps(
    db: AsyncSession, assessment: Assessment, reader: SchoolMonitorReader
) -> AssessmentGaps:
    inputs = await live_inputs(db, assessment, reader)
    return gaps_from(assessment, inputs)


def gaps_from(assessment: Assessment, inputs: ScoringInputs) -> AssessmentGaps:
    report = engine.gap_report(inputs.definition, inputs.values, groups=inputs.groups)
    return AssessmentGaps(
        **_identity(assessment), **report.model_dump(), unavailable=inputs.unavailable
    )


def _identity(assessment: Assessment) -> dict[str, object]:
    return {
        "assessment_id": assessment.id,
        "country_iso3": assessment.country_iso3,
        "period": assessment.period,
        "status": assessment.status,
        "methodology_version": assessment.methodology_version,
    }


WHAT_IF_ORIGIN = "what-if"


def with_hypotheses(
    inputs: ScoringInputs, hypotheses: Mapping[str, float | None]
) -> tuple[ScoringInputs, list[str]]:
    """`inputs` with hypothetical values (None: no value) in place of their own, and the
    codes that this changes. A hypothesis equal to the value it replaces changes nothing,
    so the scores of an assessment's own values are its scores."""
    values, origins = dict(inputs.values), dict(inputs.origins)
    provenance = dict(inputs.provenance)
    changed: list[str] = []
    for code, value in hypotheses.items():
        if values.get(code) == value:
            continue
        changed.append(code)
        if value is None:
            values.pop(code, None)
            origins.pop(code, None)
            provenance.pop(code, None)
        else:
            values[code] = value
            origins[code] = WHAT_IF_ORIGIN
    changed_inputs = replace(inputs, values=values, origins=origins, provenance=provenance)
    return changed_inputs, changed


def card_of(inputs: ScoringInputs) -> ScoreCard:
    return engine.score_card(
        inputs.definition,
        inputs.values,
        groups=inputs.groups,
        unavailable=inputs.unavailable,
        origins=inputs.origins,
        provenance=inputs.provenance,
    )


def what_if_from(
    assessment: Assessment, inputs: ScoringInputs, hypotheses: Mapping[str, float | None]
) -> WhatIfResult:
    baseline = card_of(inputs)
    changed_inputs, changed = with_hypotheses(inputs, hypotheses)
    card = card_of(changed_inputs)
    gains = None
    if card.overall is not None and baseline.overall is not None:
        gains = round(card.overall - baseline.overall, engine.DECIMALS)
    return WhatIfResult(
        assessment_id=assessment.id,
        country_iso3=assessment.country_iso3,
        period=assessment.period,
        methodology_version=assessment.methodology_version,
        changed=changed,
        baseline=Outcome(overall=baseline.overall, band=baseline.band),
        overall_change=gains,
        band_changed=card.band is not baseline.band,
        scores=card,
        gaps=engine.gap_report(
            changed_inputs.definition, changed_inputs.values, groups=changed_inputs.groups
        ),
    )


async def what_if(
    db: AsyncSession, assessment: Assessment, reader: SchoolMonitorReader, data: WhatIfIn
) -> WhatIfResult:
    """The scores, band and gaps the assessment would have with `data`'s values; the
    values are checked as an entry would be (422 naming each bad field), never stored."""
    inputs = await live_inputs(db, assessment, reader)
    problems = indicators.value_problems(
        inputs.definition, data.values, lambda index, name: f"body.values.{index}.{name}"
    )
    indicators.refuse_invalid(problems, "nothing was scored")
    return what_if_from(assessment, inputs, {v.code: v.value for v in data.values})
