from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.fields import NoNulStr
from c2r_common.pagination import Page, PageParams, page_params
from request_intake.assistance_requests import service as requests
from request_intake.assistance_requests.dependencies import Reader, Sla, VisibleRequest
from request_intake.assistance_requests.schemas import RequestOut
from request_intake.clock import Now
from request_intake.sla import service
from request_intake.sla.schemas import OverdueSummary, ReminderList, RequestSla, SlaWarningList

router = APIRouter(prefix="/v1/requests", tags=["sla"], responses=problem_responses(401, 403))


@router.get(
    "/overdue",
    response_model=Page[RequestOut],
    summary="Requests past the SLA due date of their stage, most overdue first",
    responses=problem_responses(422),
)
async def list_overdue(
    principal: Reader,
    db: SessionDep,
    now: Now,
    sla: Sla,
    page: Annotated[PageParams, Depends(page_params)],
    stage: Annotated[
        NoNulStr | None, Query(description="one workflow stage, e.g. submitted")
    ] = None,
) -> Page[RequestOut]:
    overdue, next_cursor = await service.list_overdue(db, principal, now, sla, page, stage)
    return Page(items=[requests.to_out(r) for r in overdue], next_cursor=next_cursor)


@router.get(
    "/overdue/summary",
    response_model=OverdueSummary,
    summary="How many requests are overdue, by stage",
)
async def overdue_summary(principal: Reader, db: SessionDep, now: Now, sla: Sla) -> OverdueSummary:
    by_stage = await service.overdue_by_stage(db, now, sla, principal)
    await service.refresh_overdue_gauge(db, now, sla)
    reviews = await service.overdue_reviews(db, principal, now)
    return OverdueSummary(
        as_of=now, total=sum(by_stage.values()), by_stage=by_stage, overdue_reviews=reviews
    )


@router.get(
    "/reminders",
    response_model=ReminderList,
    summary="Upcoming deadlines: calls closing, SLAs and the caller's reviews falling due, "
    "soonest first",
    responses=problem_responses(422),
)
async def list_reminders(
    principal: Reader,
    db: SessionDep,
    now: Now,
    sla: Sla,
    request: Request,
    within_days: Annotated[int | None, Query(ge=1, le=365, description="horizon")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ReminderList:
    days = within_days or request.app.state.settings.reminder_window_days
    until = service.horizon(now, days)
    items = await service.reminders(db, principal, now, until, limit, sla)
    return ReminderList(as_of=now, until=until, items=items)


@router.get(
    "/sla/warnings",
    response_model=SlaWarningList,
    summary="SLA clocks with little time left (the warning share) or past due, soonest first",
    responses=problem_responses(422),
)
async def list_sla_warnings(
    principal: Reader,
    db: SessionDep,
    now: Now,
    sla: Sla,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> SlaWarningList:
    return await service.warnings(db, principal, now, sla, limit)


@router.get(
    "/{request_id:uuid}/sla",
    response_model=RequestSla,
    summary="A request's SLA clocks: first response, resolution and each stage's, "
    "paused while information is requested",
    responses=problem_responses(404),
)
async def get_request_sla(
    request: VisibleRequest, db: SessionDep, now: Now, sla: Sla
) -> RequestSla:
    return await service.request_sla(db, request, now, sla)
