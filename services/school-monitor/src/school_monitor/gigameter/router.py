from fastapi import APIRouter, Response

from c2r_common.db import SessionDep, utcnow
from c2r_common.errors import FieldProblem, ProblemError, problem_responses
from school_monitor.gigameter import service
from school_monitor.gigameter.schemas import GigaMeterAck, GigaMeterMeasurement
from school_monitor.measurements.dependencies import Pusher, SettingsDep

router = APIRouter(
    prefix="/api/v1/measurements",
    tags=["giga-meter"],
    responses=problem_responses(401, 403, 413, 422),
)


@router.post(
    "",
    response_model=GigaMeterAck,
    status_code=201,
    summary="Giga Meter-compatible push: kbps converted to Mbps, stored as a native measurement",
    description="An unknown `giga_id_school` or a `country_code` that does not match the "
    "school is acknowledged but recorded as failed (see GET /v1/measurements/failed).",
)
async def push_giga_meter_measurement(
    principal: Pusher,
    settings: SettingsDep,
    payload: GigaMeterMeasurement,
    db: SessionDep,
    response: Response,
) -> GigaMeterAck:
    status, data, report = await service.ingest_giga_meter(db, principal, settings, payload)
    if report is not None and report.rejected:
        errors = [
            FieldProblem(field=service.giga_field(error.field), message=error.message)
            for problem in report.rejected
            for error in problem.errors
        ]
        raise ProblemError(
            422, "The measurement was refused.", problem_type="validation", errors=errors
        )
    if status != "stored":
        response.status_code = 200
    return GigaMeterAck(
        success=status != "failed",
        data={"status": status, **data},
        timestamp=utcnow(),
        message="success" if status != "failed" else "recorded as failed",
    )
