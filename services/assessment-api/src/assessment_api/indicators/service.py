"""Indicator values of an assessment: unit-aware validation, bulk entry, full history."""

from collections.abc import Callable, Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assessment_api.assessments import lifecycle
from assessment_api.assessments import service as assessments
from assessment_api.assessments.models import Assessment
from assessment_api.assessments.schemas import AssessmentStatus
from assessment_api.indicators.models import IndicatorValue, IndicatorValueChange
from assessment_api.indicators.schemas import (
    BulkIndicatorValue,
    IndicatorValueIn,
    IndicatorValueOut,
    Provenance,
)
from assessment_api.methodology import service as methodologies
from assessment_api.methodology.schemas import MethodologyDefinition, Unit
from c2r_common.auth import Principal
from c2r_common.db import utcnow
from c2r_common.errors import FieldProblem, ProblemError
from c2r_common.pagination import PageParams, paginate
from c2r_common.problems import Conflict, NotFound

# (index of the entry, field name) -> the field as the client wrote it, e.g. body.values.3.value
FieldNamer = Callable[[int, str], str]


def _single_value_field(_index: int, name: str) -> str:
    return "path.code" if name == "code" else f"body.{name}"


def unit_problem(unit: Unit, value: float) -> str | None:
    """Why `value` cannot be a measurement in `unit`, or None when it can."""
    if unit is Unit.PERCENT and not 0 <= value <= 100:
        return "a percentage must be between 0 and 100"
    if unit is Unit.BOOLEAN and value not in (0, 1):
        return "a yes/no indicator takes 1 (yes) or 0 (no)"
    if value < 0:
        return f"a value in {unit} cannot be negative"
    return None


async def definition_for(db: AsyncSession, assessment: Assessment) -> MethodologyDefinition:
    return methodologies.definition_of(
        await methodologies.get_version(db, assessment.methodology_version)
    )


def _ensure_editable(assessment: Assessment) -> None:
    if AssessmentStatus(assessment.status) not in lifecycle.EDITABLE_STATUSES:
        raise Conflict(
            f"Indicator values of a {assessment.status} assessment are frozen.",
            problem_type="assessment-frozen",
            extra={"current_status": assessment.status},
        )


class CodedValue(Protocol):
    """An entry naming an indicator and a value for it (None: no value)."""

    @property
    def code(self) -> str: ...
    @property
    def value(self) -> float | None: ...


def value_problems(
    definition: MethodologyDefinition,
    entries: Sequence[CodedValue],
    field: FieldNamer,
) -> list[FieldProblem]:
    """Why each entry cannot be a value of `definition`: an unknown or repeated indicator,
    or a value its unit does not allow."""
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        indicator = definition.indicator(entry.code)
        if indicator is None:
            message = f"no indicator {entry.code!r} in this assessment's methodology"
            problems.append(FieldProblem(field=field(index, "code"), message=message))
            continue
        if entry.code in seen:
            problems.append(
                FieldProblem(field=field(index, "code"), message="given more than once")
            )
        seen.add(entry.code)
        reason = None if entry.value is None else unit_problem(indicator.unit, entry.value)
        if reason:
            problems.append(FieldProblem(field=field(index, "value"), message=reason))
    return problems


def refuse_invalid(problems: list[FieldProblem], consequence: str) -> None:
    """A 422 naming every field in `problems`, if there are any."""
    if problems:
        raise ProblemError(
            422,
            f"{len(problems)} indicator value(s) are not valid; {consequence}.",
            title="Invalid request",
            problem_type="validation",
            errors=problems,
        )


def _apply(
    db: AsyncSession,
    assessment: Assessment,
    current: IndicatorValue | None,
    entry: BulkIndicatorValue,
    actor: str,
) -> None:
    fields = entry.model_dump(mode="json", exclude={"code"})
    if current is None:
        current = IndicatorValue(assessment_id=assessment.id, indicator_code=entry.code)
        db.add(current)
    for name, value in fields.items():
        setattr(current, name, value)
    current.updated_by, current.updated_at = actor, utcnow()
    db.add(
        IndicatorValueChange(
            assessment_id=assessment.id, indicator_code=entry.code, changed_by=actor, **fields
        )
    )


async def current_values(db: AsyncSession, assessment: Assessment) -> dict[str, IndicatorValue]:
    rows = await db.scalars(
        select(IndicatorValue).where(IndicatorValue.assessment_id == assessment.id)
    )
    return {row.indicator_code: row for row in rows}


async def set_values(
    db: AsyncSession,
    assessment: Assessment,
    entries: Sequence[BulkIndicatorValue],
    principal: Principal,
    *,
    field: FieldNamer = lambda index, name: f"body.values.{index}.{name}",
) -> None:
    """Stores all of `entries` or, if any is invalid, none of them (`field` names a field
    of an entry as the request gave it, for the problem details)."""
    _ensure_editable(assessment)
    definition = await definition_for(db, assessment)
    refuse_invalid(value_problems(definition, entries, field), "nothing was stored")
    existing = await current_values(db, assessment)
    for entry in entries:
        _apply(db, assessment, existing.get(entry.code), entry, principal.subject)
    codes = [entry.code for entry in entries]
    assessments.record(db, assessment, principal.subject, "indicators_set", {"codes": codes})
    await assessments.save_changes(db, assessment)


async def set_value(
    db: AsyncSession,
    assessment: Assessment,
    code: str,
    data: IndicatorValueIn,
    principal: Principal,
) -> None:
    entry = BulkIndicatorValue(code=code, **data.model_dump())
    await set_values(db, assessment, [entry], principal, field=_single_value_field)


async def remove_value(
    db: AsyncSession, assessment: Assessment, code: str, principal: Principal
) -> None:
    _ensure_editable(assessment)
    current = (await current_values(db, assessment)).get(code)
    if current is None:
        raise NotFound(f"The assessment has no value for indicator {code}.")
    await db.delete(current)
    db.add(
        IndicatorValueChange(
            assessment_id=assessment.id,
            indicator_code=code,
            value=None,
            year=None,
            source=None,
            changed_by=principal.subject,
        )
    )
    assessments.record(db, assessment, principal.subject, "indicator_removed", {"code": code})
    await assessments.save_changes(db, assessment)


async def list_values(db: AsyncSession, assessment: Assessment) -> list[IndicatorValueOut]:
    definition = await definition_for(db, assessment)
    values = await current_values(db, assessment)
    out: list[IndicatorValueOut] = []
    for pillar in definition.pillars:
        for indicator in pillar.indicators:
            stored = values.get(indicator.code)
            out.append(
                IndicatorValueOut(
                    code=indicator.code,
                    name=indicator.name,
                    pillar=pillar.code,
                    unit=indicator.unit,
                    direction=indicator.direction,
                    required=indicator.required,
                    live_source=indicator.live_source,
                    value=stored.value if stored else None,
                    year=stored.year if stored else None,
                    source=stored.source if stored else None,
                    note=stored.note if stored else None,
                    provenance=Provenance(stored.provenance) if stored else None,
                    source_url=stored.source_url if stored else None,
                    updated_by=stored.updated_by if stored else None,
                    updated_at=stored.updated_at if stored else None,
                )
            )
    return out


async def history(
    db: AsyncSession, assessment: Assessment, code: str, page: PageParams
) -> tuple[list[IndicatorValueChange], str | None]:
    if (await definition_for(db, assessment)).indicator(code) is None:
        raise NotFound(f"No indicator {code} in this assessment's methodology.")
    statement = select(IndicatorValueChange).where(
        IndicatorValueChange.assessment_id == assessment.id,
        IndicatorValueChange.indicator_code == code,
    )
    return await paginate(db, statement, (IndicatorValueChange.id,), page)
