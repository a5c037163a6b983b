from fastapi import APIRouter

from assessment_api.dependencies import GlobalApprover, Paging, Reader
from assessment_api.methodology import service
from assessment_api.methodology.schemas import (
    MethodologyDefinition,
    MethodologyOut,
    MethodologySummary,
)
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.fields import Int32Param
from c2r_common.pagination import Page

router = APIRouter(
    prefix="/v1/methodologies", tags=["methodologies"], responses=problem_responses(401, 403)
)


@router.get("", response_model=Page[MethodologySummary], summary="List methodology versions")
async def list_methodologies(_: Reader, db: SessionDep, page: Paging) -> Page[MethodologySummary]:
    items, next_cursor = await service.list_versions(db, page)
    return Page(items=[service.to_summary(m) for m in items], next_cursor=next_cursor)


@router.get(
    "/latest",
    response_model=MethodologyOut,
    summary="The latest published methodology",
    responses=problem_responses(409),
)
async def get_latest(_: Reader, db: SessionDep) -> MethodologyOut:
    return service.to_out(await service.latest(db))


@router.get(
    "/{version}",
    response_model=MethodologyOut,
    summary="One methodology version with its pillars and indicators",
    responses=problem_responses(404),
)
async def get_methodology(_: Reader, version: Int32Param, db: SessionDep) -> MethodologyOut:
    return service.to_out(await service.get_version(db, version))


@router.post(
    "",
    response_model=MethodologyOut,
    status_code=201,
    summary="Publish a new methodology version",
    description="The new version gets the next number; existing assessments stay pinned to "
    "the version they were created on, new ones default to the latest.",
    responses=problem_responses(409, 422),
)
async def publish_methodology(
    principal: GlobalApprover, definition: MethodologyDefinition, db: SessionDep
) -> MethodologyOut:
    return service.to_out(await service.publish(db, definition, by=principal.subject))
