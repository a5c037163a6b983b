import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from c2r_common.csv_safety import csv_response
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.pagination import example_of
from request_intake.assistance_requests.dependencies import Reader, Sla
from request_intake.clock import Now
from request_intake.reports import service, sla
from request_intake.reports.schemas import RequestReport, SlaReport

# The CSV of the report's JSON example, as the route writes it.
REPORT_CSV_EXAMPLE = service.to_csv(RequestReport.model_validate(example_of(RequestReport)))

router = APIRouter(
    prefix="/v1/requests/reports", tags=["reports"], responses=problem_responses(401, 403)
)
CallFilter = Annotated[uuid.UUID | None, Query(description="limit the report to one call")]


@router.get(
    "",
    response_model=RequestReport,
    summary="Counts of requests by call, status, region, assistance type and country",
    responses=problem_responses(422),
)
async def request_report(
    principal: Reader, db: SessionDep, now: Now, call_id: CallFilter = None
) -> RequestReport:
    return await service.build_report(db, principal, now, call_id)


@router.get(
    "/csv",
    response_class=Response,
    summary="The same counts as CSV: dimension, key, label, count",
    responses=csv_response(REPORT_CSV_EXAMPLE) | problem_responses(422),
)
async def request_report_csv(
    principal: Reader, db: SessionDep, now: Now, call_id: CallFilter = None
) -> Response:
    report = await service.build_report(db, principal, now, call_id)
    return Response(
        service.to_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="c2r-requests-report.csv"'},
    )


@router.get(
    "/sla",
    response_model=SlaReport,
    summary="SLAs met and missed per stage, first response and resolution, call and quarter",
    responses=problem_responses(422),
)
async def sla_report(
    principal: Reader, db: SessionDep, now: Now, policy: Sla, call_id: CallFilter = None
) -> SlaReport:
    return await sla.build_sla_report(db, principal, now, policy, call_id)
