from typing import Annotated

from fastapi import APIRouter, Path, Response

from assessment_api.assessments.dependencies import ReadableAssessment, WritableAssessment
from assessment_api.dependencies import Paging, Writer
from assessment_api.indicators import service
from assessment_api.indicators.schemas import (
    BulkIndicatorValues,
    IndicatorValueChangeOut,
    IndicatorValueIn,
    IndicatorValueOut,
)
from assessment_api.methodology.schemas import CODE_PATTERN
from c2r_common.concurrency import IfMatch, check_if_match, etag
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.pagination import Page

router = APIRouter(
    prefix="/v1/assessments/{assessment_id}/indicators",
    tags=["indicators"],
    responses=problem_responses(401, 403, 404),
)
Code = Annotated[str, Path(pattern=CODE_PATTERN, examples=["internet_users_pct"])]
WRITE_ERRORS = problem_responses(409, 412, 422)


@router.get("", response_model=list[IndicatorValueOut], summary="Indicators and their values")
async def list_indicator_values(
    assessment: ReadableAssessment, db: SessionDep
) -> list[IndicatorValueOut]:
    return await service.list_values(db, assessment)


@router.post(
    "",
    response_model=list[IndicatorValueOut],
    summary="Enter many indicator values at once (all or nothing)",
    responses=WRITE_ERRORS,
)
async def bulk_set_indicator_values(
    assessment: WritableAssessment,
    data: BulkIndicatorValues,
    principal: Writer,
    if_match: IfMatch,
    db: SessionDep,
    response: Response,
) -> list[IndicatorValueOut]:
    check_if_match(if_match, assessment.revision, "assessment")
    await service.set_values(db, assessment, data.values, principal)
    response.headers["ETag"] = etag(assessment.revision)
    return await service.list_values(db, assessment)


@router.put(
    "/{code}",
    response_model=IndicatorValueOut,
    summary="Enter or correct one indicator value",
    responses=WRITE_ERRORS,
)
async def set_indicator_value(
    assessment: WritableAssessment,
    code: Code,
    data: IndicatorValueIn,
    principal: Writer,
    if_match: IfMatch,
    db: SessionDep,
    response: Response,
) -> IndicatorValueOut:
    check_if_match(if_match, assessment.revision, "assessment")
    await service.set_value(db, assessment, code, data, principal)
    response.headers["ETag"] = etag(assessment.revision)
    values = await service.list_values(db, assessment)
    return next(v for v in values if v.code == code)


@router.delete(
    "/{code}",
    status_code=204,
    summary="Remove an indicator value (kept in its history)",
    responses=WRITE_ERRORS,
)
async def remove_indicator_value(
    assessment: WritableAssessment,
    code: Code,
    principal: Writer,
    if_match: IfMatch,
    db: SessionDep,
) -> Response:
    check_if_match(if_match, assessment.revision, "assessment")
    await service.remove_value(db, assessment, code, principal)
    return Response(status_code=204, headers={"ETag": etag(assessment.revision)})


@router.get(
    "/{code}/history",
    response_model=Page[IndicatorValueChangeOut],
    summary="Every change of one indicator value, oldest first",
)
async def indicator_history(
    assessment: ReadableAssessment, code: Code, db: SessionDep, page: Paging
) -> Page[IndicatorValueChangeOut]:
    changes, next_cursor = await service.history(db, assessment, code, page)
    return Page(
        items=[IndicatorValueChangeOut.model_validate(c) for c in changes], next_cursor=next_cursor
    )
