from typing import Annotated

from fastapi import APIRouter, Query, Response

from assessment_api.assessments import service as assessments
from assessment_api.assessments.dependencies import ReadableAssessment, WritableAssessment
from assessment_api.assessments.schemas import AssessmentOut
from assessment_api.connectivity.reader import SchoolMonitorDep
from assessment_api.dependencies import Writer
from assessment_api.rescoring import service
from assessment_api.rescoring.schemas import RescoreIn, RescorePreview
from c2r_common.concurrency import etag
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.fields import INT32_MAX
from c2r_common.response_headers import CREATED_DOCUMENT

router = APIRouter(
    prefix="/v1/assessments/{assessment_id}", responses=problem_responses(401, 403, 404, 422)
)
Version = Annotated[
    int | None,
    Query(
        ge=1,
        le=INT32_MAX,
        description="a published version other than the assessment's; default: the latest",
    ),
]


@router.get(
    "/rescoring",
    tags=["scores"],
    response_model=RescorePreview,
    summary="Preview the assessment's scores under another methodology version",
    description="The assessment's values (stored, and live while it is open) scored under "
    "`methodology_version`, beside its scores now, with the values that version cannot "
    "take; nothing is stored. An unknown version, or the assessment's own, is a 422.",
)
async def preview_rescoring(
    assessment: ReadableAssessment,
    db: SessionDep,
    reader: SchoolMonitorDep,
    methodology_version: Version = None,
) -> RescorePreview:
    return await service.preview(db, assessment, reader, methodology_version)


@router.post(
    "/rescorings",
    tags=["assessments"],
    response_model=AssessmentOut,
    status_code=201,
    summary="Re-score the assessment: a copy pinned to another methodology version",
    description="A new assessment of the same country and period with the same indicator "
    "values (source, note, provenance and all), pinned to `methodology_version`, so that a "
    "country's series can be read under one version; the original is left as it is. The "
    "copy of an open assessment is as open; of a finished one, completed (acceptance and "
    "publication are to be given again), or in validation when the new version requires a "
    "value it lacks. A copy under that version already there is a 409 carrying "
    "`existing_assessment_id`.",
    responses=problem_responses(409) | CREATED_DOCUMENT,
)
async def rescore_assessment(
    assessment: WritableAssessment,
    data: RescoreIn,
    principal: Writer,
    db: SessionDep,
    response: Response,
) -> AssessmentOut:
    copy, _ = await service.rescore(db, assessment, data, principal)
    out = assessments.to_out(copy)
    response.headers["ETag"] = etag(out.revision)
    response.headers["Location"] = f"/v1/assessments/{out.id}"
    return out
