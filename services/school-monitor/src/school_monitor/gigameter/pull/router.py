"""The Giga Meter backend's measurement reads: Giga Maps' pull (`/measurements/v2`, a bare
array) and the documented reads in the backend's envelope. Deployment keys and
`schools:read` tokens, each limited to its countries."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from c2r_common.db import SessionDep, utcnow
from c2r_common.errors import problem_responses
from c2r_common.fields import NoNulStr
from school_monitor.gigameter.credentials import GigaReader, readable_countries
from school_monitor.gigameter.pull import service
from school_monitor.gigameter.pull.schemas import (
    Envelope,
    FailedMeasurementDto,
    FilterBy,
    FilterCondition,
    MeasurementDto,
    MeasurementV2,
    OrderBy,
)

router = APIRouter(
    prefix="/api/v1/measurements",
    tags=["giga-meter"],
    responses=problem_responses(401, 403, 422),
)

# What parse_filter_value reads: a date, or a date and time (Python's str(datetime) with a
# space, or RFC 3339); the document states the two formats.
FILTER_VALUE_FORMATS = {"anyOf": [{"format": "date"}, {"format": "date-time"}]}
Page = Annotated[int, Query(ge=0, le=10_000_000, description="pages to skip: skips page*size")]


def pull_query(max_size: int, default_order: OrderBy = OrderBy.TIMESTAMP_DESC) -> object:
    async def dependency(
        page: Page = 0,
        size: Annotated[int, Query(ge=1, le=max_size)] = 10,
        orderBy: Annotated[OrderBy, Query()] = default_order,
        giga_id_school: Annotated[NoNulStr | None, Query(max_length=64)] = None,
        country_iso3_code: Annotated[
            str | None, Query(min_length=3, max_length=3, pattern="^[A-Za-z]{3}$")
        ] = None,
        filterBy: Annotated[FilterBy | None, Query()] = None,
        filterCondition: Annotated[FilterCondition | None, Query()] = None,
        filterValue: Annotated[
            str | None,
            Query(
                max_length=64,
                json_schema_extra=FILTER_VALUE_FORMATS,
                description="a date, or a date and time: Python's str(datetime) as Giga "
                "Maps sends it ('2026-12-01 10:15:30.123456+00:00') or ISO 8601",
            ),
        ] = None,
    ) -> service.PullQuery:
        value, has_time = service.check_filter(filterBy, filterCondition, filterValue)
        return service.PullQuery(
            page,
            size,
            orderBy,
            giga_id_school,
            country_iso3_code,
            filterBy,
            filterCondition,
            value,
            has_time,
        )

    return Depends(dependency)


V2Query = Annotated[service.PullQuery, pull_query(1000)]
ListQuery = Annotated[service.PullQuery, pull_query(100)]


@router.get(
    "/v2",
    response_model=list[MeasurementV2],
    summary="Giga Maps' pull: a bare array, page by page until an empty one; speeds in kbps",
)
async def pull_measurements_v2(
    principal: GigaReader, db: SessionDep, query: V2Query
) -> list[MeasurementV2]:
    countries = readable_countries(principal)
    return await service.measurements_v2(db, query, countries)


@router.get(
    "",
    response_model=Envelope[list[MeasurementDto]],
    summary="Stored measurements in the Giga Meter backend's envelope",
)
async def list_giga_measurements(
    principal: GigaReader, db: SessionDep, query: ListQuery
) -> Envelope[list[MeasurementDto]]:
    countries = readable_countries(principal)
    found = await service.measurements(db, query, countries)
    return Envelope(success=True, data=found, timestamp=utcnow(), message="success")


@router.get(
    "/failed",
    response_model=Envelope[list[FailedMeasurementDto]],
    summary="Payloads recorded as failed, filed under the caller's countries",
)
async def list_giga_failed(
    principal: GigaReader,
    db: SessionDep,
    page: Page = 0,
    size: Annotated[int, Query(ge=1, le=1000)] = 10,
) -> Envelope[list[FailedMeasurementDto]]:
    found = await service.failed(db, page, size, readable_countries(principal))
    return Envelope(success=True, data=found, timestamp=utcnow(), message="success")


@router.get(
    "/school_id/{school_id}",
    response_model=Envelope[list[MeasurementDto]],
    summary="Measurements of a school by its government id, newest first",
    description="Upstream answers every one at once; here at most `size` (1,000) per page.",
)
async def list_giga_measurements_of_school(
    principal: GigaReader,
    db: SessionDep,
    school_id: Annotated[NoNulStr, Path(min_length=1, max_length=64)],
    page: Page = 0,
    size: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> Envelope[list[MeasurementDto]]:
    countries = readable_countries(principal)
    found = await service.measurements_of_school(db, school_id, page, size, countries)
    return Envelope(success=True, data=found, timestamp=utcnow(), message="success")
