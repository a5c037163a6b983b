from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from c2r_common.auth import BEARER_SECURITY, Principal, Scope, require_scopes
from c2r_common.bodies import json_body_openapi
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.fields import NoNulStr
from c2r_common.idempotency import IdempotencyKey
from c2r_common.pagination import Page, PageParams, page_params
from school_monitor.gigameter.schemas import MeasurementFlagOut
from school_monitor.measurements import service
from school_monitor.measurements.dependencies import Pusher, SettingsDep
from school_monitor.measurements.ingest_api import push_batch, push_one
from school_monitor.measurements.schemas import (
    FailedMeasurementOut,
    IngestAck,
    IngestReport,
    MeasurementBatchIn,
    MeasurementIn,
    PingBatchIn,
    PingIn,
)

measurements_router = APIRouter(
    prefix="/v1/measurements",
    tags=["measurements"],
    responses=problem_responses(401, 403, 413, 422),
)
pings_router = APIRouter(
    prefix="/v1/pings", tags=["pings"], responses=problem_responses(401, 403, 413, 422)
)
Reader = Annotated[Principal, Depends(require_scopes(Scope.SCHOOLS_READ))]
# A single push retried after its acknowledgement was lost is answered 200, not 201.
REPEATED_PUSH: dict[int | str, dict[str, Any]] = {
    200: {"model": IngestAck, "description": "Its UUID was stored before: nothing new stored"}
}


@measurements_router.post(
    "",
    response_model=IngestAck,
    status_code=201,
    summary="Push one measurement (200 when its UUID was stored before)",
    openapi_extra=json_body_openapi(MeasurementIn) | BEARER_SECURITY,
    responses=REPEATED_PUSH,
)
async def push_measurement(request: Request) -> Response:
    return await push_one(request, MeasurementIn)


@measurements_router.post(
    "/batch",
    response_model=IngestReport,
    summary="Push up to 5,000 measurements: good items stored, bad ones reported by index",
    openapi_extra=json_body_openapi(MeasurementBatchIn),
)
async def push_measurement_batch(
    request: Request,
    principal: Pusher,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    return await push_batch(request, principal, settings, MeasurementIn, idempotency_key)


@measurements_router.get(
    "/failed",
    response_model=Page[FailedMeasurementOut],
    summary="Giga Meter payloads recorded as failed (unknown school, country mismatch...)",
)
async def list_failed_measurements(
    principal: Reader,
    db: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    reason: Annotated[NoNulStr | None, Query(max_length=50, examples=["unknown_school"])] = None,
) -> Page[FailedMeasurementOut]:
    rows, next_cursor = await service.list_failed(db, principal.countries, reason, page)
    return Page(
        items=[FailedMeasurementOut.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@measurements_router.get(
    "/flags",
    response_model=Page[MeasurementFlagOut],
    summary="Data-quality flags of stored measurements (a Giga Meter agent naming its IP "
    "address's country instead of its school's...), of the caller's countries",
)
async def list_measurement_flags(
    principal: Reader,
    db: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    kind: Annotated[str | None, Query(max_length=50, examples=["country_mismatch"])] = None,
) -> Page[MeasurementFlagOut]:
    rows, next_cursor = await service.list_flags(db, principal.countries, kind, page)
    return Page(items=[MeasurementFlagOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@pings_router.post(
    "",
    response_model=IngestAck,
    status_code=201,
    summary="Push one ping check (200 when its UUID was stored before)",
    openapi_extra=json_body_openapi(PingIn) | BEARER_SECURITY,
    responses=REPEATED_PUSH,
)
async def push_ping(request: Request) -> Response:
    return await push_one(request, PingIn)


@pings_router.post(
    "/batch",
    response_model=IngestReport,
    summary="Push up to 5,000 ping checks: good items stored, bad ones reported by index",
    openapi_extra=json_body_openapi(PingBatchIn),
)
async def push_ping_batch(
    request: Request,
    principal: Pusher,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    return await push_batch(request, principal, settings, PingIn, idempotency_key)
