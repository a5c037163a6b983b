import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.pagination import Page, PageParams, page_params
from school_monitor.schools import service
from school_monitor.schools.schemas import SchoolIn, SchoolOut

router = APIRouter(prefix="/v1/schools", tags=["schools"], responses=problem_responses(401, 403))
Reader = Annotated[Principal, Depends(require_scopes(Scope.SCHOOLS_READ))]
Writer = Annotated[Principal, Depends(require_scopes(Scope.SCHOOLS_WRITE))]


@router.post(
    "",
    response_model=SchoolOut,
    status_code=201,
    summary="Register a school",
    responses=problem_responses(409, 422),
)
async def create_school(principal: Writer, data: SchoolIn, db: SessionDep) -> SchoolOut:
    principal.require_country(data.country_iso3)
    return SchoolOut.model_validate(await service.create_school(db, data))


@router.get("", response_model=Page[SchoolOut], summary="List schools")
async def list_schools(
    _: Reader,
    db: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{3}$")] = None,
) -> Page[SchoolOut]:
    schools, next_cursor = await service.list_schools(db, country, page)
    return Page(items=[SchoolOut.model_validate(s) for s in schools], next_cursor=next_cursor)


@router.get(
    "/{school_id}",
    response_model=SchoolOut,
    summary="One school",
    responses=problem_responses(404),
)
async def get_school(principal: Reader, school_id: uuid.UUID, db: SessionDep) -> SchoolOut:
    school = await service.get_school(db, school_id)
    principal.require_country(school.country_iso3)
    return SchoolOut.model_validate(school)
