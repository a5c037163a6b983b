import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from assessment_api.dependencies import GlobalWriter, Paging, Reader
from assessment_api.partners import service
from assessment_api.partners.schemas import (
    ContributionFilters,
    ContributionIn,
    ContributionOut,
    ContributionTotals,
    PartnerFilters,
    PartnerIn,
    PartnerOut,
    PartnerUpdate,
    TotalsBy,
)
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.pagination import Page

partners_router = APIRouter(
    prefix="/v1/partners", tags=["partners"], responses=problem_responses(401, 403)
)
contributions_router = APIRouter(
    prefix="/v1/contributions", tags=["partners"], responses=problem_responses(401, 403)
)


@partners_router.get(
    "",
    response_model=Page[PartnerOut],
    summary="List partners by name (filter: steering committee, founding)",
)
async def list_partners(
    _: Reader, db: SessionDep, page: Paging, filters: Annotated[PartnerFilters, Depends()]
) -> Page[PartnerOut]:
    items, next_cursor = await service.list_partners(db, filters, page)
    return Page(items=[PartnerOut.model_validate(p) for p in items], next_cursor=next_cursor)


@partners_router.post(
    "",
    response_model=PartnerOut,
    status_code=201,
    summary="Register a partner",
    responses=problem_responses(409, 422),
)
async def create_partner(_: GlobalWriter, data: PartnerIn, db: SessionDep) -> PartnerOut:
    return PartnerOut.model_validate(await service.create_partner(db, data))


@partners_router.get(
    "/{partner_id}",
    response_model=PartnerOut,
    summary="One partner",
    responses=problem_responses(404),
)
async def get_partner(_: Reader, partner_id: uuid.UUID, db: SessionDep) -> PartnerOut:
    return PartnerOut.model_validate(await service.get_partner(db, partner_id))


@partners_router.patch(
    "/{partner_id}",
    response_model=PartnerOut,
    summary="Update a partner's steering committee membership or details",
    responses=problem_responses(404, 422),
)
async def update_partner(
    _: GlobalWriter, partner_id: uuid.UUID, data: PartnerUpdate, db: SessionDep
) -> PartnerOut:
    partner = await service.get_partner(db, partner_id)
    return PartnerOut.model_validate(await service.update_partner(db, partner, data))


@contributions_router.get(
    "", response_model=Page[ContributionOut], summary="List contributions by date"
)
async def list_contributions(
    _: Reader, db: SessionDep, page: Paging, filters: Annotated[ContributionFilters, Depends()]
) -> Page[ContributionOut]:
    items, next_cursor = await service.list_contributions(db, filters, page)
    return Page(items=[service.to_out(c) for c in items], next_cursor=next_cursor)


@contributions_router.post(
    "",
    response_model=ContributionOut,
    status_code=201,
    summary="Record a contribution",
    responses=problem_responses(422),
)
async def create_contribution(
    principal: GlobalWriter, data: ContributionIn, db: SessionDep
) -> ContributionOut:
    return service.to_out(await service.create_contribution(db, data, principal.subject))


@contributions_router.get(
    "/totals",
    response_model=ContributionTotals,
    summary="Contribution totals by partner or by focus region, per currency",
)
async def contribution_totals(
    _: Reader, db: SessionDep, by: Annotated[TotalsBy, Query()] = TotalsBy.PARTNER
) -> ContributionTotals:
    return await service.totals(db, by)
