import uuid
from typing import Annotated

from fastapi import APIRouter, Depends

from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.pagination import Page, PageParams, page_params
from request_intake.sessions import service
from request_intake.sessions.schemas import SessionIn, SessionOut

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], responses=problem_responses(401, 403))
Reader = Annotated[Principal, Depends(require_scopes(Scope.REQUESTS_READ))]
Organiser = Annotated[Principal, Depends(require_scopes(Scope.CALLS_WRITE))]


@router.post(
    "",
    response_model=SessionOut,
    status_code=201,
    summary="Record an information session and its participants",
    responses=problem_responses(422),
)
async def create_session(_: Organiser, data: SessionIn, db: SessionDep) -> SessionOut:
    return service.to_out(await service.create_session(db, data))


@router.get("", response_model=Page[SessionOut], summary="List information sessions by date")
async def list_sessions(
    _: Reader, db: SessionDep, page: Annotated[PageParams, Depends(page_params)]
) -> Page[SessionOut]:
    sessions, next_cursor = await service.list_sessions(db, page)
    return Page(items=[service.to_out(s) for s in sessions], next_cursor=next_cursor)


@router.get(
    "/{session_id}",
    response_model=SessionOut,
    summary="One information session",
    responses=problem_responses(404),
)
async def get_session(_: Reader, session_id: uuid.UUID, db: SessionDep) -> SessionOut:
    return service.to_out(await service.get_session(db, session_id))
