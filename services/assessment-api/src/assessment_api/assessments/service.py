"""Assessments: creation, lifecycle, translations, audit trail and optimistic concurrency."""

import uuid
from typing import Any

from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from assessment_api.assessments import lifecycle
from assessment_api.assessments.models import Assessment, AssessmentTranslation, AuditEvent
from assessment_api.assessments.schemas import (
    AssessmentCreate,
    AssessmentFilters,
    AssessmentOut,
    AssessmentStatus,
    TransitionIn,
    TranslationOut,
    TranslationStatus,
)
from assessment_api.methodology import service as methodologies
from assessment_api.methodology.models import Methodology
from assessment_api.notifications.service import notify
from c2r_common.auth import Principal
from c2r_common.db import utcnow
from c2r_common.errors import ProblemError
from c2r_common.notifications.catalogue import AssessmentTranslated
from c2r_common.pagination import PageParams, paginate
from c2r_common.problems import Conflict, Forbidden, InvalidField, NotFound, PreconditionFailed
from c2r_common.reference import country_by_iso3

TRANSITIONS = Counter(
    "c2r_assessment_transitions_total",
    "Assessment lifecycle moves, by the status entered.",
    ["to_status"],
)
ASSESSMENTS_CREATED = Counter("c2r_assessment_assessments_created_total", "Assessments opened.")


def to_out(assessment: Assessment) -> AssessmentOut:
    country = country_by_iso3(assessment.country_iso3)
    status = AssessmentStatus(assessment.status)
    return AssessmentOut(
        id=assessment.id,
        country_iso3=assessment.country_iso3,
        country_name=country.name if country else assessment.country_iso3,
        period=assessment.period,
        title=assessment.title,
        methodology_version=assessment.methodology_version,
        status=status,
        allowed_transitions=list(lifecycle.allowed_from(status)),
        revision=assessment.revision,
        source_request_id=assessment.source_request_id,
        rescored_from_id=assessment.rescored_from_id,
        translations=[TranslationOut.model_validate(t) for t in assessment.translations],
        created_by=assessment.created_by,
        created_at=assessment.created_at,
        updated_at=assessment.updated_at,
    )


async def save_changes(db: AsyncSession, assessment: Assessment) -> None:
    """Writes the changes of a request, giving the assessment a new revision (ETag).

    The UPDATE only applies to the revision this request read: if another writer got there
    first, nothing is written and the caller gets a 412 as for a stale If-Match.
    """
    assessment.updated_at = utcnow()
    try:
        await db.flush()
    except StaleDataError:
        raise PreconditionFailed(
            "The assessment was changed by another request meanwhile; read it again."
        ) from None


def record(
    db: AsyncSession,
    assessment: Assessment,
    actor: str,
    action: str,
    detail: dict[str, Any] | None = None,
    note: str | None = None,
) -> None:
    db.add(
        AuditEvent(
            assessment_id=assessment.id, actor=actor, action=action, detail=detail or {}, note=note
        )
    )


async def find_by_country_period(db: AsyncSession, iso3: str, period: str) -> Assessment | None:
    """The original assessment of a country and period (not one of its re-scored copies)."""
    return await db.scalar(
        select(Assessment).where(
            Assessment.country_iso3 == iso3,
            Assessment.period == period,
            Assessment.rescored_from_id.is_(None),
        )
    )


def _conflict(existing_id: uuid.UUID, data: AssessmentCreate) -> ProblemError:
    return Conflict(
        f"An assessment of {data.country_iso3} for {data.period} already exists.",
        problem_type="assessment-exists",
        extra={"existing_assessment_id": str(existing_id)},
    )


async def _methodology_for(db: AsyncSession, version: int | None) -> Methodology:
    if version is None:
        return await methodologies.latest(db)
    methodology = await db.get(Methodology, version)
    if methodology is None:
        raise InvalidField(
            "body.methodology_version",
            "unknown version",
            f"No methodology version {version} has been published.",
        )
    return methodology


async def create(db: AsyncSession, data: AssessmentCreate, principal: Principal) -> Assessment:
    principal.require_country(data.country_iso3)
    existing = await find_by_country_period(db, data.country_iso3, data.period)
    if existing is not None:
        raise _conflict(existing.id, data)
    methodology = await _methodology_for(db, data.methodology_version)
    country = country_by_iso3(data.country_iso3)
    assessment = Assessment(
        country_iso3=data.country_iso3,
        period=data.period,
        title=data.title or f"{country.name if country else data.country_iso3} {data.period}",
        methodology_version=methodology.version,
        status=AssessmentStatus.DRAFT,
        source_request_id=data.source_request_id,
        created_by=principal.subject,
        translations=[],
    )
    try:
        async with db.begin_nested():
            db.add(assessment)
    except IntegrityError:
        # Another request created the same country and period in the meantime.
        raced = await find_by_country_period(db, data.country_iso3, data.period)
        if raced is None:
            raise
        raise _conflict(raced.id, data) from None
    record(db, assessment, principal.subject, "created", data.model_dump(mode="json"))
    await db.flush()
    ASSESSMENTS_CREATED.inc()
    return assessment


async def get(db: AsyncSession, assessment_id: uuid.UUID, principal: Principal) -> Assessment:
    assessment = await db.get(Assessment, assessment_id)
    if assessment is None or not principal.can_access_country(assessment.country_iso3):
        raise NotFound(f"No assessment {assessment_id}.")
    return assessment


async def list_assessments(
    db: AsyncSession, filters: AssessmentFilters, page: PageParams, principal: Principal
) -> tuple[list[Assessment], str | None]:
    statement = select(Assessment)
    if filters.country_iso3:
        statement = statement.where(Assessment.country_iso3 == filters.country_iso3.upper())
    if filters.status:
        statement = statement.where(Assessment.status == filters.status)
    if filters.period:
        statement = statement.where(Assessment.period == filters.period)
    if filters.source_request_id:
        statement = statement.where(Assessment.source_request_id == filters.source_request_id)
    if principal.countries is not None:
        statement = statement.where(Assessment.country_iso3.in_(sorted(principal.countries)))
    return await paginate(db, statement, (Assessment.created_at, Assessment.id), page)


async def update_title(
    db: AsyncSession, assessment: Assessment, title: str, principal: Principal
) -> Assessment:
    record(db, assessment, principal.subject, "updated", {"title": [assessment.title, title]})
    assessment.title = title
    await save_changes(db, assessment)
    return assessment


def check_transition(assessment: Assessment, target: AssessmentStatus, who: Principal) -> None:
    current = AssessmentStatus(assessment.status)
    allowed = lifecycle.allowed_from(current)
    if target not in allowed:
        raise Conflict(
            f"An assessment in {current} cannot move to {target}; allowed: "
            f"{', '.join(allowed) or 'none'}.",
            problem_type="invalid-transition",
            extra={"current_status": current, "allowed_transitions": list(allowed)},
        )
    needed = lifecycle.scope_to_enter(target)
    if not who.has_scope(needed):
        raise Forbidden(f"Moving an assessment to {target} needs the scope {needed}.")


async def transition(
    db: AsyncSession, assessment: Assessment, data: TransitionIn, principal: Principal
) -> Assessment:
    """Records and applies a move; completion's preconditions on the indicator values are
    checked by the flows that call this (assessment_api.flows)."""
    check_transition(assessment, data.to, principal)
    record(
        db,
        assessment,
        principal.subject,
        "transition",
        {"from": assessment.status, "to": data.to},
        note=data.note,
    )
    assessment.status = data.to
    TRANSITIONS.labels(data.to.value).inc()
    await save_changes(db, assessment)
    await _notify_move(db, assessment, data)
    return assessment


def _event_fields(assessment: Assessment) -> dict[str, Any]:
    return {
        "assessment_id": assessment.id,
        "country_iso3": assessment.country_iso3,  # focal points' subscriptions filter on it
        "period": assessment.period,
        "assessment_title": assessment.title,
        "methodology_version": assessment.methodology_version,
        "revision": assessment.revision,
        "changed_at": assessment.updated_at,
    }


def _change_key(assessment: Assessment) -> str:
    # The revision after the change: each change has its own, so completing an assessment
    # again after a return to validation is a new event, and a retry of one write is not.
    return f"revision-{assessment.revision}"


async def _notify_move(db: AsyncSession, assessment: Assessment, data: TransitionIn) -> None:
    event = lifecycle.event_on_entry(data.to)
    if event is None:
        return
    await notify(
        db,
        event(**_event_fields(assessment), note=data.note),
        at=assessment.updated_at,
        key=_change_key(assessment),
    )


async def set_translation(
    db: AsyncSession,
    assessment: Assessment,
    language: str,
    status: TranslationStatus,
    principal: Principal,
) -> Assessment:
    language = language.lower()
    current = next((t for t in assessment.translations if t.language == language), None)
    before = None if current is None else current.status
    if current is None:
        current = AssessmentTranslation(language=language, status=status)
        assessment.translations.append(current)
    current.status, current.updated_by, current.updated_at = status, principal.subject, utcnow()
    record(
        db, assessment, principal.subject, "translation", {"language": language, "status": status}
    )
    await save_changes(db, assessment)
    if lifecycle.translation_finished(before, status):
        await notify(
            db,
            AssessmentTranslated(**_event_fields(assessment), language=language),
            at=assessment.updated_at,
            key=f"{language}-{_change_key(assessment)}",
        )
    return assessment


async def audit_trail(
    db: AsyncSession, assessment: Assessment, page: PageParams
) -> tuple[list[AuditEvent], str | None]:
    statement = select(AuditEvent).where(AuditEvent.assessment_id == assessment.id)
    return await paginate(db, statement, (AuditEvent.id,), page)
