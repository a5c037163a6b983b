from typing import Annotated

from fastapi import APIRouter, Depends, Path

from assessment_api.countries import service
from assessment_api.countries.schemas import CountryFilters, CountryOut
from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.errors import problem_responses
from c2r_common.pagination import Page, PageParams, page_params

router = APIRouter(
    prefix="/v1/countries",
    tags=["countries"],
    responses=problem_responses(401, 403, 422),
)
Reader = Annotated[Principal, Depends(require_scopes(Scope.ASSESSMENTS_READ))]
Iso3 = Annotated[str, Path(pattern="^[A-Za-z]{3}$", examples=["RWA"])]


@router.get("", response_model=Page[CountryOut], summary="List countries and areas")
async def list_countries(
    _: Reader,
    filters: Annotated[CountryFilters, Depends()],
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[CountryOut]:
    items, next_cursor = service.list_countries(filters, page)
    return Page(items=[CountryOut.model_validate(c) for c in items], next_cursor=next_cursor)


@router.get(
    "/{iso3}",
    response_model=CountryOut,
    summary="One country or area",
    responses=problem_responses(404),
)
async def get_country(_: Reader, iso3: Iso3) -> CountryOut:
    return CountryOut.model_validate(service.get_country(iso3))
