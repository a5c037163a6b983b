import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from c2r_common.auth import Principal, Scope, require_any_scope, require_scopes
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.pagination import Page, PageParams, page_params
from request_intake.calls import service
from request_intake.calls.feed import feed_etag, matches, max_age
from request_intake.calls.rules import CallState
from request_intake.calls.schemas import CallIn, CallOut, CallUpdate, OpenCallFeed
from request_intake.clock import Now
from request_intake.scopes import READ_SCOPES

router = APIRouter(prefix="/v1/calls", tags=["calls"], responses=problem_responses(401, 403))
CallWriter = Annotated[Principal, Depends(require_scopes(Scope.CALLS_WRITE))]
CallReader = Annotated[Principal, Depends(require_any_scope(*READ_SCOPES, Scope.CALLS_WRITE))]
Paging = Annotated[PageParams, Depends(page_params)]


def calendar_names(request: Request) -> list[str]:
    """The SLA calendars a call may name. The app's SLA policy knows them; calls import
    no SLA module (the SLA rules read calls, not the other way round)."""
    names: list[str] = request.app.state.sla_policy.calendar_names
    return names


@router.post(
    "",
    response_model=CallOut,
    status_code=201,
    summary="Open a call for technical-assistance requests",
    responses=problem_responses(422),
)
async def create_call(
    author: CallWriter,
    data: CallIn,
    db: SessionDep,
    now: Now,
    calendars: Annotated[list[str], Depends(calendar_names)],
) -> CallOut:
    call = await service.create_call(db, data, author, calendars, now)
    return service.to_out(call, now)


@router.get(
    "",
    response_model=Page[CallOut],
    summary="List calls by deadline, optionally in one state",
    responses=problem_responses(422),
)
async def list_calls(
    _: CallReader,
    db: SessionDep,
    page: Paging,
    now: Now,
    state: Annotated[CallState | None, Query(description="upcoming, open or closed")] = None,
) -> Page[CallOut]:
    calls, next_cursor = await service.list_calls(db, page, now, state)
    return Page(items=[service.to_out(c, now) for c in calls], next_cursor=next_cursor)


@router.get(
    "/open",
    response_model=Page[CallOut],
    summary="List the calls open now, soonest deadline first",
    responses=problem_responses(422),
)
async def list_open_calls(_: CallReader, db: SessionDep, page: Paging, now: Now) -> Page[CallOut]:
    calls, next_cursor = await service.list_calls(db, page, now, CallState.OPEN)
    return Page(items=[service.to_out(c, now) for c in calls], next_cursor=next_cursor)


@router.get(
    "/{call_id}",
    response_model=CallOut,
    summary="One call, with its state now",
    responses=problem_responses(404, 422),
)
async def get_call(_: CallReader, call_id: uuid.UUID, db: SessionDep, now: Now) -> CallOut:
    return service.to_out(await service.get_call(db, call_id), now)


@router.patch(
    "/{call_id}",
    response_model=CallOut,
    summary="Change a call, e.g. extend its deadline",
    responses=problem_responses(404, 422),
)
async def update_call(
    _: CallWriter, call_id: uuid.UUID, data: CallUpdate, db: SessionDep, now: Now
) -> CallOut:
    call = await service.get_call(db, call_id)
    return service.to_out(await service.update_call(db, call, data), now)


# Public: no token needed, so no 401/403; read-only and cacheable, as Hypha publishes its
# open calls. Included before `router`, whose /{call_id} would take "feed" for an id.
feed_router = APIRouter(prefix="/v1/calls", tags=["calls"])
_CACHE_HEADERS = {
    "ETag": {
        "description": "the feed's validator; send it as If-None-Match",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": "public, max-age until the feed may change",
        "schema": {"type": "string"},
    },
}


@feed_router.get(
    "/feed",
    response_model=OpenCallFeed,
    summary="The calls open now, without a token: title, types, eligible regions, deadline "
    "in its zone (cacheable: ETag, 304 on If-None-Match)",
    responses={
        200: {"headers": _CACHE_HEADERS},
        304: {"description": "unchanged since the ETag sent", "headers": _CACHE_HEADERS},
        **problem_responses(422),
    },
)
async def open_calls_feed(
    db: SessionDep,
    now: Now,
    if_none_match: Annotated[str | None, Header(description="an ETag of the feed")] = None,
) -> Response:
    open_calls, changes = await service.open_call_feed(db, now)
    body = open_calls.model_dump_json().encode()
    etag = feed_etag(body)
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age(now, changes)}",
        "Vary": "Accept-Encoding",
    }
    if matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
