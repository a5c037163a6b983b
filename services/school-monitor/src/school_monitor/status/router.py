import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.pagination import Page, PageParams, page_params
from school_monitor.status import service
from school_monitor.status.classification import AlertKind
from school_monitor.status.schemas import AlertOut

router = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=problem_responses(401, 403))
Reader = Annotated[Principal, Depends(require_scopes(Scope.SCHOOLS_READ))]


@router.get(
    "",
    response_model=Page[AlertOut],
    summary="Status-change alerts, oldest first (went offline, fell below benchmark, recovered)",
    responses=problem_responses(422),
)
async def list_alerts(
    principal: Reader,
    db: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{3}$")] = None,
    school_id: uuid.UUID | None = None,
    kind: AlertKind | None = None,
) -> Page[AlertOut]:
    if country is not None:
        principal.require_country(country)
    alerts, next_cursor = await service.list_alerts(
        db, principal.countries, country, school_id, kind, page
    )
    return Page(items=[AlertOut.model_validate(a) for a in alerts], next_cursor=next_cursor)
