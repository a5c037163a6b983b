"""The assessment lifecycle: which status may follow which, and who may move it there."""

from assessment_api.assessments.schemas import AssessmentStatus as S
from assessment_api.assessments.schemas import TranslationStatus
from c2r_common.auth import Scope
from c2r_common.notifications.catalogue import (
    AssessmentAccepted,
    AssessmentCompleted,
    AssessmentMoved,
    AssessmentPublished,
)

ALLOWED_TRANSITIONS: dict[S, tuple[S, ...]] = {
    S.DRAFT: (S.DATA_COLLECTION,),
    S.DATA_COLLECTION: (S.VALIDATION,),
    # Validation may send the assessment back for more data.
    S.VALIDATION: (S.DATA_COLLECTION, S.COMPLETED),
    # The country may ask for changes before accepting: back to validation.
    S.COMPLETED: (S.VALIDATION, S.ACCEPTED_BY_COUNTRY),
    S.ACCEPTED_BY_COUNTRY: (S.PUBLISHED,),
    S.PUBLISHED: (),
}

# Acceptance by the country and publication are approvals; the rest is the assessors' work.
SCOPE_TO_ENTER: dict[S, Scope] = {
    S.ACCEPTED_BY_COUNTRY: Scope.ASSESSMENTS_APPROVE,
    S.PUBLISHED: Scope.ASSESSMENTS_APPROVE,
}

# Indicator values are frozen once the report is completed, so published numbers never drift.
EDITABLE_STATUSES = frozenset({S.DRAFT, S.DATA_COLLECTION, S.VALIDATION})
# Assessments counted in comparisons and aggregates unless in-progress ones are asked for.
FINISHED_STATUSES = frozenset({S.COMPLETED, S.ACCEPTED_BY_COUNTRY, S.PUBLISHED})

# The moves people wait for raise an event when the status is entered (each time it is).
EVENT_ON_ENTRY: dict[S, type[AssessmentMoved]] = {
    S.COMPLETED: AssessmentCompleted,
    S.ACCEPTED_BY_COUNTRY: AssessmentAccepted,
    S.PUBLISHED: AssessmentPublished,
}


def allowed_from(status: S) -> tuple[S, ...]:
    return ALLOWED_TRANSITIONS[status]


def scope_to_enter(status: S) -> Scope:
    return SCOPE_TO_ENTER.get(status, Scope.ASSESSMENTS_WRITE)


def event_on_entry(status: S) -> type[AssessmentMoved] | None:
    return EVENT_ON_ENTRY.get(status)


def translation_finished(before: str | None, after: TranslationStatus) -> bool:
    """A translation is finished when it becomes completed; marking a completed one
    completed again is no news."""
    return after is TranslationStatus.COMPLETED and before != TranslationStatus.COMPLETED
