import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from c2r_common.auth import Principal, Scope, require_scopes
from c2r_common.concurrency import IfMatch, check_if_match, etag
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.fields import NoNulStr
from c2r_common.idempotency import IdempotencyKey, run_idempotent
from c2r_common.pagination import Page, PageParams, page_params
from c2r_common.schemas import AssistanceType
from request_intake import flows
from request_intake.assistance_requests import service
from request_intake.assistance_requests.dependencies import Reader, Sla, VisibleRequest
from request_intake.assistance_requests.schemas import (
    EventOut,
    RequestIn,
    RequestOut,
    RequestUpdate,
    TransitionIn,
)
from request_intake.assistance_requests.workflow import Status
from request_intake.clock import Now
from request_intake.db import IdempotencyRecord

router = APIRouter(prefix="/v1/requests", tags=["requests"], responses=problem_responses(401, 403))
Submitter = Annotated[Principal, Depends(require_scopes(Scope.REQUESTS_SUBMIT))]
Paging = Annotated[PageParams, Depends(page_params)]


@router.post(
    "",
    response_model=RequestOut,
    status_code=201,
    summary="Submit a request for technical assistance under an open call",
    responses=problem_responses(409, 422),
)
async def submit_request(
    principal: Submitter,
    data: RequestIn,
    db: SessionDep,
    now: Now,
    sla: Sla,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    async def create() -> RequestOut:
        return service.to_out(await flows.submit(db, data, principal, now, sla))

    result = await run_idempotent(
        db,
        IdempotencyRecord,
        scope=f"requests:{principal.subject}",
        key=idempotency_key,
        payload=data.model_dump(mode="json"),
        status_code=201,
        create=create,
    )
    return result.response({"ETag": etag(result.body["version"])})


@router.get(
    "",
    response_model=Page[RequestOut],
    summary="List requests (a focal point sees its own countries only)",
    responses=problem_responses(422),
)
async def list_requests(
    principal: Reader,
    db: SessionDep,
    page: Paging,
    status: Annotated[Status | None, Query()] = None,
    call_id: Annotated[uuid.UUID | None, Query()] = None,
    country_iso3: Annotated[NoNulStr | None, Query(min_length=3, max_length=3)] = None,
    assistance_type: Annotated[AssistanceType | None, Query()] = None,
    late: Annotated[bool | None, Query(description="only late (or on-time) requests")] = None,
) -> Page[RequestOut]:
    requests, next_cursor = await service.list_requests(
        db,
        principal,
        page,
        status=status,
        call_id=call_id,
        country_iso3=country_iso3,
        assistance_type=assistance_type,
        late=late,
    )
    return Page(items=[service.to_out(r) for r in requests], next_cursor=next_cursor)


@router.get(
    "/{request_id:uuid}",
    response_model=RequestOut,
    summary="One request; its ETag guards later transitions",
    responses=problem_responses(404),
)
async def get_request(request: VisibleRequest, response: Response) -> RequestOut:
    response.headers["ETag"] = etag(request.version)
    return service.to_out(request)


@router.patch(
    "/{request_id:uuid}",
    response_model=RequestOut,
    summary="Complete a request before review (focal point; while submitted or info_requested)",
    responses=problem_responses(404, 409, 412, 422),
)
async def update_request(
    request: VisibleRequest,
    principal: Reader,
    data: RequestUpdate,
    db: SessionDep,
    now: Now,
    response: Response,
    if_match: IfMatch,
) -> RequestOut:
    check_if_match(if_match, request.version, "request")
    updated = await service.update(db, request, data, principal, now)
    response.headers["ETag"] = etag(updated.version)
    return service.to_out(updated)


@router.get(
    "/{request_id:uuid}/transitions",
    response_model=Page[EventOut],
    summary="The audit trail of a request: every move, by whom, when and why",
    responses=problem_responses(404, 422),
)
async def list_transitions(request: VisibleRequest, db: SessionDep, page: Paging) -> Page[EventOut]:
    events, next_cursor = await service.list_events(db, request, page)
    return Page(items=[EventOut.model_validate(e) for e in events], next_cursor=next_cursor)


@router.post(
    "/{request_id:uuid}/transitions",
    response_model=RequestOut,
    status_code=200,
    summary="Move a request through the workflow (role checked, comment kept)",
    responses=problem_responses(404, 409, 412, 422),
)
async def transition_request(
    request: VisibleRequest,
    principal: Reader,
    data: TransitionIn,
    db: SessionDep,
    now: Now,
    sla: Sla,
    response: Response,
    if_match: IfMatch,
) -> RequestOut:
    check_if_match(if_match, request.version, "request")
    updated = await flows.transition(db, request, data, principal, now, sla)
    response.headers["ETag"] = etag(updated.version)
    return service.to_out(updated)
