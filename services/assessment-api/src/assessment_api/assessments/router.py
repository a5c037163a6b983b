import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response

from assessment_api import flows
from assessment_api.assessments import service
from assessment_api.assessments.dependencies import (
    Mover,
    ReadableAssessment,
    WritableAssessment,
)
from assessment_api.assessments.schemas import (
    LANGUAGE_PATTERN,
    AssessmentCreate,
    AssessmentFilters,
    AssessmentOut,
    AssessmentUpdate,
    AuditEventOut,
    TransitionIn,
    TranslationIn,
)
from assessment_api.connectivity.reader import SchoolMonitorDep
from assessment_api.db import IdempotencyRecord
from assessment_api.dependencies import Paging, Reader, Writer
from c2r_common.concurrency import IfMatch, check_if_match, etag
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.idempotency import IdempotencyKey, run_idempotent
from c2r_common.pagination import Page
from c2r_common.response_headers import CREATED_DOCUMENT

router = APIRouter(
    prefix="/v1/assessments", tags=["assessments"], responses=problem_responses(401, 403)
)
Language = Annotated[str, Path(pattern=LANGUAGE_PATTERN, examples=["ar"])]


def _with_etag(response: Response, out: AssessmentOut) -> AssessmentOut:
    response.headers["ETag"] = etag(out.revision)
    return out


@router.post(
    "",
    response_model=AssessmentOut,
    status_code=201,
    summary="Open an assessment of a country for a period",
    description="Honours `Idempotency-Key`: a retry with the same key and body replays the "
    "first response. Another assessment of the same country and period is a 409 whose body "
    "carries `existing_assessment_id`.",
    responses=problem_responses(409, 422) | CREATED_DOCUMENT,
)
async def create_assessment(
    principal: Writer, data: AssessmentCreate, db: SessionDep, key: IdempotencyKey = None
) -> Any:
    async def create() -> AssessmentOut:
        return service.to_out(await service.create(db, data, principal))

    result = await run_idempotent(
        db,
        IdempotencyRecord,
        scope=f"assessments:create:{principal.subject}",
        key=key,
        payload=data.model_dump(mode="json"),
        status_code=201,
        create=create,
    )
    body = result.body
    return result.response(
        {"ETag": etag(body["revision"]), "Location": f"/v1/assessments/{body['id']}"}
    )


@router.get("", response_model=Page[AssessmentOut], summary="List assessments")
async def list_assessments(
    principal: Reader,
    db: SessionDep,
    page: Paging,
    filters: Annotated[AssessmentFilters, Depends()],
) -> Page[AssessmentOut]:
    items, next_cursor = await service.list_assessments(db, filters, page, principal)
    return Page(items=[service.to_out(a) for a in items], next_cursor=next_cursor)


@router.get(
    "/{assessment_id}",
    response_model=AssessmentOut,
    summary="One assessment (with its ETag)",
    responses=problem_responses(404),
)
async def get_assessment(assessment: ReadableAssessment, response: Response) -> AssessmentOut:
    return _with_etag(response, service.to_out(assessment))


@router.patch(
    "/{assessment_id}",
    response_model=AssessmentOut,
    summary="Rename an assessment",
    responses=problem_responses(404, 412, 422),
)
async def update_assessment(
    assessment: WritableAssessment,
    data: AssessmentUpdate,
    principal: Writer,
    if_match: IfMatch,
    db: SessionDep,
    response: Response,
) -> AssessmentOut:
    check_if_match(if_match, assessment.revision, "assessment")
    updated = await service.update_title(db, assessment, data.title, principal)
    return _with_etag(response, service.to_out(updated))


@router.post(
    "/{assessment_id}/transitions",
    response_model=AssessmentOut,
    summary="Move an assessment along its lifecycle",
    description="draft → data_collection → validation → completed → accepted_by_country → "
    "published (validation may go back to data_collection, completed back to validation). "
    "A move not allowed from the current status is a 409 listing the allowed ones; "
    "completing with required indicators missing is a 409 listing them. Acceptance and "
    "publication need `assessments:approve`.",
    responses=problem_responses(404, 409, 412, 422),
)
async def transition_assessment(
    assessment_id: uuid.UUID,
    data: TransitionIn,
    principal: Mover,
    if_match: IfMatch,
    db: SessionDep,
    reader: SchoolMonitorDep,
    response: Response,
) -> AssessmentOut:
    assessment = await service.get(db, assessment_id, principal)
    check_if_match(if_match, assessment.revision, "assessment")
    moved = await flows.move(db, assessment, data, principal, reader)
    return _with_etag(response, service.to_out(moved))


@router.put(
    "/{assessment_id}/translations/{language}",
    response_model=AssessmentOut,
    summary="Record the status of a translation of the report",
    responses=problem_responses(404, 422),
)
async def set_translation(
    assessment: WritableAssessment,
    language: Language,
    data: TranslationIn,
    principal: Writer,
    db: SessionDep,
    response: Response,
) -> AssessmentOut:
    updated = await service.set_translation(db, assessment, language, data.status, principal)
    return _with_etag(response, service.to_out(updated))


@router.get(
    "/{assessment_id}/audit",
    response_model=Page[AuditEventOut],
    summary="Who did what to the assessment, oldest first",
    responses=problem_responses(404),
)
async def audit_trail(
    assessment: ReadableAssessment, db: SessionDep, page: Paging
) -> Page[AuditEventOut]:
    events, next_cursor = await service.audit_trail(db, assessment, page)
    return Page(items=[AuditEventOut.model_validate(e) for e in events], next_cursor=next_cursor)
