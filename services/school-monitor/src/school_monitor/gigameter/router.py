"""The Giga Meter agent's write calls, at the paths, with the bodies and the answers its
released versions use (upload.service.ts, sync.service.ts)."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from c2r_common.auth import BEARER_SECURITY, authenticate
from c2r_common.bodies import json_body_openapi
from c2r_common.db import Database, utcnow
from c2r_common.errors import problem_responses
from c2r_common.fields import NoNulStr
from school_monitor.gigameter import grants, service
from school_monitor.gigameter.credentials import GigaWriter
from school_monitor.gigameter.schemas import GigaMeterAck, GigaMeterMeasurement, PingRecords
from school_monitor.measurements.dependencies import SettingsDep

router = APIRouter(
    prefix="/api/v1",
    tags=["giga-meter"],
    responses=problem_responses(400, 401, 403, 413, 422),
)


# What the agent's sync service posts and reads back (sync.service.ts).
PING_RECORD_EXAMPLE = {
    "timestamp": "2026-06-10T08:00:00Z",
    "isConnected": True,
    "errorMessage": None,
    "giga_id_school": "3e32d388-d710-4d61-9898-4b45efc7d496",
    "app_local_uuid": "b2994e07-2e23-4f6a-ae46-69b4df898550",
    "browserId": "be63e905-a5b6-40e7-a80c-71ec2629b2bd",
    "latency": 38.5,
}


def _ack(data: dict[str, Any], status_code: int) -> Response:
    ack = GigaMeterAck(success=True, data=data, timestamp=utcnow(), message="success")
    return Response(ack.model_dump_json(), status_code=status_code, media_type="application/json")


@router.post(
    "/measurements",
    response_model=GigaMeterAck,
    status_code=201,
    summary="Giga Meter push of one speed test: stored with the pushes arriving meanwhile "
    "(group commit), 200 when it was stored before",
    responses={200: {"model": GigaMeterAck, "description": "Stored before (same UUID)"}},
    description="Speeds in kbps are stored in Mbps. An unknown `giga_id_school` (or one of "
    "another country than the caller's) answers 400 and is recorded as failed; a "
    "`country_code` that is not the school's country is stored for the school and flagged "
    "(GET /v1/measurements/flags). A `?key=` query parameter of old builds is ignored.",
    openapi_extra=json_body_openapi(GigaMeterMeasurement) | BEARER_SECURITY,
)
async def push_giga_meter_measurement(request: Request) -> Response:
    # Resolved without dependency injection, like the native single push: the agents'
    # hottest path.
    principal = grants.require_writer(await authenticate(request))
    state = request.app.state
    outcome = await service.push_one(
        state.database,
        state.group_committer,
        grants.write_grants(state),
        principal,
        await request.body(),
    )
    data = {
        "status": outcome.status,
        "uuid": str(outcome.measurement_uuid),
        "school_id": str(outcome.school_id),
    }
    return _ack(data, 201 if outcome.status == "stored" else 200)


@router.post(
    "/measurements/multiple",
    response_model=GigaMeterAck,
    status_code=201,
    summary="Giga Meter offline backlog: up to 5,000 speed tests in one transaction",
    description="A JSON array of Giga Meter measurements (v2 agents send 5 at a time). "
    "New ones are stored, those stored before acknowledged, and those that cannot be "
    "(unknown school, invalid, out of the acceptance window) recorded as failed; 400 when "
    "none could be stored.",
    openapi_extra=service.backlog_openapi(),
)
async def push_giga_meter_backlog(
    request: Request, principal: GigaWriter, settings: SettingsDep
) -> Response:
    database: Database = request.app.state.database
    outcome = await service.push_backlog(
        database, grants.write_grants(request.app.state), principal, settings, await request.body()
    )
    data = {"stored": outcome.stored, "duplicates": outcome.duplicates, "failed": outcome.failed}
    return _ack(data, 201)


@router.post(
    "/connectivity/{giga_id_school}",
    response_model=list[dict[str, Any]],
    status_code=201,
    summary="Giga Meter ping records of one school, stored in one transaction",
    description="`{records: [...]}` as the agent's sync service sends them; answered with "
    "the records. A batch sent again is acknowledged and its records stored once. 400 for "
    "an unknown school (or one of another country than the caller's).",
    openapi_extra=json_body_openapi(PingRecords),
    responses={201: {"content": {"application/json": {"example": [PING_RECORD_EXAMPLE]}}}},
)
async def push_giga_meter_ping_records(
    giga_id_school: Annotated[NoNulStr, Path(max_length=64)],
    request: Request,
    principal: GigaWriter,
    settings: SettingsDep,
) -> Any:
    database: Database = request.app.state.database
    return await service.push_ping_records(
        database,
        grants.write_grants(request.app.state),
        principal,
        settings,
        giga_id_school,
        await request.body(),
    )
