from fastapi import APIRouter

from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from school_monitor.gigameter.credentials import GigaReader
from school_monitor.gigameter.enrollment import service
from school_monitor.gigameter.enrollment.schemas import Envelope, GigaCountry

router = APIRouter(
    prefix="/api/v1", tags=["giga-meter"], responses=problem_responses(401, 403, 422)
)


@router.get(
    "/dailycheckapp_countries/{code}",
    response_model=Envelope[list[GigaCountry]],
    summary="Country check: the country of this ISO alpha-2 code, if the agent may enrol there",
    description="An empty list for a country without schools, unknown, or outside the "
    "caller's countries (the app then says its country is not supported).",
)
async def country_by_code(
    code: str, principal: GigaReader, db: SessionDep
) -> Envelope[list[GigaCountry]]:
    return Envelope(data=await service.countries_by_code(db, principal, code))
