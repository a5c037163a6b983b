"""Review forms of calls (/v1/calls/{id}/review-form), reviewers and reviews of requests
(/v1/requests/{id}/reviewers, /v1/requests/{id}/reviews), and each reviewer's own
queue and reviews (/v1/reviews)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from c2r_common.auth import Principal, Scope, require_any_scope, require_scopes
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.pagination import Page, PageParams, page_params
from request_intake.assistance_requests.dependencies import VisibleRequest
from request_intake.calls import service as calls
from request_intake.clock import Now
from request_intake.reviews import service
from request_intake.reviews.schemas import (
    AssignmentIn,
    AssignmentOut,
    QueueItemOut,
    ReviewAmendment,
    ReviewBoardOut,
    ReviewFormIn,
    ReviewFormOut,
    ReviewIn,
    ReviewOut,
    RevisionOut,
)

FormWriter = Annotated[Principal, Depends(require_scopes(Scope.CALLS_WRITE))]
FormReader = Annotated[
    Principal,
    Depends(require_any_scope(Scope.REQUESTS_REVIEW, Scope.REQUESTS_APPROVE, Scope.CALLS_WRITE)),
]
Approver = Annotated[Principal, Depends(require_scopes(Scope.REQUESTS_APPROVE))]
Reviewer = Annotated[Principal, Depends(require_scopes(Scope.REQUESTS_REVIEW))]
ReviewReader = Annotated[
    Principal, Depends(require_any_scope(Scope.REQUESTS_REVIEW, Scope.REQUESTS_APPROVE))
]
Paging = Annotated[PageParams, Depends(page_params)]

forms_router = APIRouter(
    prefix="/v1/calls", tags=["reviews"], responses=problem_responses(401, 403)
)
requests_router = APIRouter(
    prefix="/v1/requests", tags=["reviews"], responses=problem_responses(401, 403)
)
router = APIRouter(prefix="/v1/reviews", tags=["reviews"], responses=problem_responses(401, 403))


# --- the call's review form -------------------------------------------------------------


@forms_router.put(
    "/{call_id}/review-form",
    response_model=ReviewFormOut,
    summary="Set the criteria a call's reviewers score and the reviews approval needs",
    responses=problem_responses(404, 409, 422),
)
async def put_review_form(
    principal: FormWriter, call_id: uuid.UUID, data: ReviewFormIn, db: SessionDep, now: Now
) -> ReviewFormOut:
    call = await calls.get_call(db, call_id)
    form = await service.put_form(db, call=call, data=data, principal=principal, now=now)
    return service.form_out(form)


@forms_router.get(
    "/{call_id}/review-form",
    response_model=ReviewFormOut,
    summary="The review form of a call",
    responses=problem_responses(404, 422),
)
async def get_review_form(_: FormReader, call_id: uuid.UUID, db: SessionDep) -> ReviewFormOut:
    await calls.get_call(db, call_id)
    return service.form_out(await service.require_form(db, call_id))


# --- reviewers and reviews of a request -------------------------------------------------


@requests_router.post(
    "/{request_id:uuid}/reviewers",
    response_model=AssignmentOut,
    status_code=201,
    summary="Assign a reviewer (by subject) to a request, in a role, with a due date",
    responses=problem_responses(404, 409, 422),
)
async def assign_reviewer(
    principal: Approver, request: VisibleRequest, data: AssignmentIn, db: SessionDep, now: Now
) -> AssignmentOut:
    assignment = await service.assign(db, request=request, data=data, principal=principal, now=now)
    [out] = await service.assignments_out(db, [assignment], now)
    return out


@requests_router.get(
    "/{request_id:uuid}/reviewers",
    response_model=list[AssignmentOut],
    summary="A request's reviewers (an approver sees all, a reviewer its own assignment)",
    responses=problem_responses(404, 422),
)
async def list_reviewers(
    principal: ReviewReader, request: VisibleRequest, db: SessionDep, now: Now
) -> list[AssignmentOut]:
    assignments = await service.list_assignments(db, request=request, principal=principal)
    return await service.assignments_out(db, assignments, now)


@requests_router.post(
    "/{request_id:uuid}/reviews",
    response_model=ReviewOut,
    status_code=201,
    summary="Submit the caller's scored review of a request it is assigned to (once)",
    responses=problem_responses(404, 409, 422),
)
async def submit_review(
    principal: Reviewer, request: VisibleRequest, data: ReviewIn, db: SessionDep, now: Now
) -> ReviewOut:
    review = await service.submit(db, request=request, data=data, principal=principal, now=now)
    return await service.review_out(db, review, request)


@requests_router.get(
    "/{request_id:uuid}/reviews",
    response_model=ReviewBoardOut,
    summary="A request's reviews and their aggregate (approvers and assigned reviewers)",
    responses=problem_responses(404, 422),
)
async def get_review_board(
    principal: ReviewReader, request: VisibleRequest, db: SessionDep
) -> ReviewBoardOut:
    return await service.board(db, request=request, principal=principal)


# --- the reviewer's own -----------------------------------------------------------------


@router.get(
    "/mine",
    response_model=Page[QueueItemOut],
    summary="The caller's review queue: its assignments, soonest due first",
    responses=problem_responses(422),
)
async def my_queue(
    principal: Reviewer,
    db: SessionDep,
    page: Paging,
    now: Now,
    pending: Annotated[
        bool | None, Query(description="true: not reviewed yet; false: reviewed")
    ] = None,
) -> Page[QueueItemOut]:
    items, next_cursor = await service.queue(
        db, principal=principal, page=page, now=now, pending=pending
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/{review_id:uuid}",
    response_model=ReviewOut,
    summary="One review (its author, the request's other reviewers and approvers)",
    responses=problem_responses(404),
)
async def get_review(principal: ReviewReader, review_id: uuid.UUID, db: SessionDep) -> ReviewOut:
    review, request = await service.get_review(db, review_id, principal)
    return await service.review_out(db, review, request)


@router.put(
    "/{review_id:uuid}",
    response_model=ReviewOut,
    summary="Amend the caller's review; the earlier version is kept in its history",
    responses=problem_responses(404, 409, 422),
)
async def amend_review(
    principal: Reviewer, review_id: uuid.UUID, data: ReviewAmendment, db: SessionDep, now: Now
) -> ReviewOut:
    review, request = await service.get_review(db, review_id, principal)
    amended = await service.amend(
        db, review=review, request=request, data=data, principal=principal, now=now
    )
    return await service.review_out(db, amended, request)


@router.get(
    "/{review_id:uuid}/revisions",
    response_model=Page[RevisionOut],
    summary="Every version of a review, as submitted and amended, oldest first",
    responses=problem_responses(404, 422),
)
async def list_revisions(
    principal: ReviewReader, review_id: uuid.UUID, db: SessionDep, page: Paging
) -> Page[RevisionOut]:
    review, _ = await service.get_review(db, review_id, principal)
    rows, next_cursor = await service.revisions(db, review, page)
    return Page(items=[RevisionOut.model_validate(r) for r in rows], next_cursor=next_cursor)
