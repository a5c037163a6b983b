import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from assessment_api.dependencies import Paging, Reader, Writer
from assessment_api.programmes import service
from assessment_api.programmes.schemas import (
    PhaseIn,
    PilotIn,
    PilotOut,
    PilotSiteIn,
    ProgrammeOut,
    ProgrammeSummary,
)
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.pagination import Page
from c2r_common.problems import require_visible_country
from c2r_common.schemas import C2RPhase

router = APIRouter(
    prefix="/v1/programmes", tags=["programmes"], responses=problem_responses(401, 403)
)
Iso3 = Annotated[str, Path(pattern="^[A-Za-z]{3}$", examples=["RWA"])]


@router.get(
    "",
    response_model=Page[ProgrammeSummary],
    summary="Countries with C2R programme activity and the status of each phase",
)
async def list_programmes(
    principal: Reader, db: SessionDep, page: Paging
) -> Page[ProgrammeSummary]:
    items, next_cursor = await service.list_programmes(db, page, principal.countries)
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/{iso3}",
    response_model=ProgrammeOut,
    summary="A country's 5-phase programme, pilots and partners' contributions",
    responses=problem_responses(404),
)
async def get_programme(principal: Reader, iso3: Iso3, db: SessionDep) -> ProgrammeOut:
    require_visible_country(principal, iso3)
    return await service.programme(db, iso3)


@router.put(
    "/{iso3}/phases/{phase}",
    response_model=ProgrammeOut,
    summary="Record the status, dates, SG1 Questions and requests of one phase",
    responses=problem_responses(404, 422),
)
async def record_phase(
    principal: Writer, iso3: Iso3, phase: C2RPhase, data: PhaseIn, db: SessionDep
) -> ProgrammeOut:
    require_visible_country(principal, iso3)
    await service.record_phase(db, iso3, phase, data, principal.subject)
    return await service.programme(db, iso3)


@router.post(
    "/{iso3}/pilots",
    response_model=PilotOut,
    status_code=201,
    summary="Record a pilot and its sites",
    responses=problem_responses(404, 422),
)
async def create_pilot(principal: Writer, iso3: Iso3, data: PilotIn, db: SessionDep) -> PilotOut:
    require_visible_country(principal, iso3)
    return PilotOut.model_validate(await service.create_pilot(db, iso3, data, principal.subject))


@router.post(
    "/{iso3}/pilots/{pilot_id}/sites",
    response_model=PilotOut,
    status_code=201,
    summary="Add a site (e.g. a school of school-monitor) to a pilot",
    responses=problem_responses(404, 422),
)
async def add_pilot_site(
    principal: Writer, iso3: Iso3, pilot_id: uuid.UUID, data: PilotSiteIn, db: SessionDep
) -> PilotOut:
    require_visible_country(principal, iso3)
    pilot = await service.get_pilot(db, iso3, pilot_id)
    return PilotOut.model_validate(await service.add_site(db, pilot, data))
