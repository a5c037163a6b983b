from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from assessment_api.beneficiaries import service as beneficiaries
from assessment_api.beneficiaries.schemas import BeneficiaryIn, BeneficiaryOut
from assessment_api.countries import service
from assessment_api.countries.schemas import CountryFilters, CountryOut
from assessment_api.dependencies import GlobalWriter, Paging, Reader
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.pagination import Page
from c2r_common.problems import require_country

router = APIRouter(
    prefix="/v1/countries",
    tags=["countries"],
    responses=problem_responses(401, 403, 422),
)
Iso3 = Annotated[str, Path(pattern="^[A-Za-z]{3}$", examples=["RWA"])]


@router.get("", response_model=Page[CountryOut], summary="List countries and areas")
async def list_countries(
    _: Reader,
    filters: Annotated[CountryFilters, Depends()],
    page: Paging,
    db: SessionDep,
) -> Page[CountryOut]:
    codes = await beneficiaries.beneficiary_codes(db)
    items, next_cursor = service.list_countries(filters, page, codes)
    return Page(items=[service.to_out(c, codes) for c in items], next_cursor=next_cursor)


@router.get(
    "/beneficiaries",
    response_model=Page[BeneficiaryOut],
    summary="The C2R beneficiary list, with the source of each entry",
)
async def list_beneficiaries(_: Reader, page: Paging, db: SessionDep) -> Page[BeneficiaryOut]:
    items, next_cursor = await beneficiaries.list_beneficiaries(db, page)
    return Page(items=[beneficiaries.to_out(b) for b in items], next_cursor=next_cursor)


@router.get(
    "/{iso3}",
    response_model=CountryOut,
    summary="One country or area",
    responses=problem_responses(404),
)
async def get_country(_: Reader, iso3: Iso3, db: SessionDep) -> CountryOut:
    codes = await beneficiaries.beneficiary_codes(db)
    return service.to_out(require_country(iso3), codes)


@router.put(
    "/{iso3}/beneficiary",
    response_model=BeneficiaryOut,
    summary="Put a country on the C2R beneficiary list (or correct its entry)",
    responses=problem_responses(404),
)
async def put_beneficiary(
    principal: GlobalWriter, iso3: Iso3, data: BeneficiaryIn, db: SessionDep
) -> BeneficiaryOut:
    return beneficiaries.to_out(await beneficiaries.put(db, iso3, data, principal.subject))


@router.delete(
    "/{iso3}/beneficiary",
    status_code=204,
    summary="Take a country off the C2R beneficiary list",
    responses=problem_responses(404),
)
async def remove_beneficiary(_: GlobalWriter, iso3: Iso3, db: SessionDep) -> Response:
    await beneficiaries.remove(db, iso3)
    return Response(status_code=204)
