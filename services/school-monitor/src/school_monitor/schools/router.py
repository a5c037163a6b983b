import io
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from c2r_common.db import Database, SessionDep, utcnow
from c2r_common.errors import problem_responses
from c2r_common.fields import NoNulStr, UtcDatetime
from c2r_common.pagination import Page, PageParams, page_params
from c2r_common.schemas import ConnectivityStatus
from school_monitor.measurements import service as measurement_service
from school_monitor.measurements.dependencies import SettingsDep
from school_monitor.measurements.schemas import MeasurementOut
from school_monitor.rollups import queries
from school_monitor.rollups.dependencies import DayRange
from school_monitor.rollups.schemas import DailyOut
from school_monitor.schools import csv_import, service
from school_monitor.schools.dependencies import (
    ReadableSchool,
    Reader,
    Writer,
    csv_text,
)
from school_monitor.schools.schemas import (
    GeoJsonFeatureCollection,
    ImportReport,
    SchoolIn,
    SchoolOut,
    SchoolStatusDetail,
    SchoolStatusOut,
    SchoolUpdate,
)

MAX_FEATURES = 10_000
router = APIRouter(prefix="/v1/schools", tags=["schools"], responses=problem_responses(401, 403))


async def school_filters(
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{3}$")] = None,
    admin1: Annotated[NoNulStr | None, Query(max_length=200)] = None,
    status: ConnectivityStatus | None = None,
    tag: Annotated[NoNulStr | None, Query(max_length=64)] = None,
    education_level: Annotated[NoNulStr | None, Query(max_length=100)] = None,
    online: bool | None = None,
) -> service.SchoolFilters:
    return service.SchoolFilters(country, admin1, status, tag, education_level, online)


Filters = Annotated[service.SchoolFilters, Depends(school_filters)]


@router.post(
    "",
    response_model=SchoolOut,
    status_code=201,
    summary="Register a school",
    responses=problem_responses(409, 422),
)
async def create_school(principal: Writer, data: SchoolIn, db: SessionDep) -> SchoolOut:
    principal.require_country(data.country_iso3)
    return SchoolOut.model_validate(await service.create_school(db, data))


@router.get(
    "",
    response_model=Page[SchoolOut],
    summary="List schools (by country, admin1, status, tag, education level, online)",
    responses=problem_responses(422),
)
async def list_schools(
    principal: Reader,
    db: SessionDep,
    filters: Filters,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[SchoolOut]:
    schools, next_cursor = await service.list_schools(db, principal, filters, page)
    return Page(items=[SchoolOut.model_validate(s) for s in schools], next_cursor=next_cursor)


@router.get(
    "/geojson",
    response_model=GeoJsonFeatureCollection,
    summary="Schools as a GeoJSON FeatureCollection with their status, for maps",
    responses=problem_responses(422),
)
async def schools_geojson(
    principal: Reader,
    db: SessionDep,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=MAX_FEATURES)] = 1000,
    cursor: Annotated[str | None, Query()] = None,
) -> GeoJsonFeatureCollection:
    page = PageParams(limit=limit, cursor=cursor)
    schools, next_cursor = await service.list_schools(db, principal, filters, page)
    return GeoJsonFeatureCollection(
        features=[service.geojson_feature(s) for s in schools], next_cursor=next_cursor
    )


@router.post(
    "/import",
    response_model=ImportReport,
    summary="Import school master data from a CSV with Giga's columns (upsert by Giga id)",
    description="Send the file as `text/csv` or as the `file` field of a multipart form. "
    "Bad rows are reported by line number and reason while good rows are imported; "
    "unknown columns are listed and ignored. Rows are committed in chunks "
    "(`import_chunk_rows`): an import that stops part-way answers 503 (or 500) with "
    "`committed_rows` and the `report` of the committed chunks; sending the same file "
    "again is safe, since rows are upserted by `school_id_giga`.",
    responses=problem_responses(413, 415, 422, 500, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    },
)
async def import_schools(
    principal: Writer,
    request: Request,
    text: Annotated[str, Depends(csv_text)],
    settings: SettingsDep,
    country: Annotated[
        str | None,
        Query(pattern="^[A-Za-z]{3}$", description="country of rows without a country column"),
    ] = None,
) -> ImportReport:
    database: Database = request.app.state.database  # a transaction per chunk, not per request
    return await csv_import.import_schools(
        database.sessionmaker,
        principal,
        io.StringIO(text),
        country.upper() if country else None,
        chunk_rows=settings.import_chunk_rows,
    )


@router.get(
    "/{school_id}",
    response_model=SchoolOut,
    summary="One school",
    responses=problem_responses(404),
)
async def get_school(school: ReadableSchool) -> SchoolOut:
    return SchoolOut.model_validate(school)


@router.patch(
    "/{school_id}",
    response_model=SchoolOut,
    summary="Update a school's master data or tags",
    responses=problem_responses(404, 422),
)
async def update_school(
    principal: Writer, school_id: uuid.UUID, data: SchoolUpdate, db: SessionDep
) -> SchoolOut:
    return SchoolOut.model_validate(await service.update_school(db, principal, school_id, data))


@router.get(
    "/{school_id}/status",
    response_model=SchoolStatusDetail,
    summary="A school's connectivity status, online state and today's uptime",
    responses=problem_responses(404),
)
async def get_school_status(
    school: ReadableSchool, db: SessionDep, settings: SettingsDep
) -> SchoolStatusDetail:
    uptime = await queries.uptime_today(db, school.id, utcnow().date())
    return SchoolStatusDetail(
        **SchoolStatusOut.model_validate(school).model_dump(),
        school_id=school.id,
        benchmark_download_mbps=settings.benchmark_for(school.country_iso3),
        uptime_pct_today=uptime,
    )


@router.get(
    "/{school_id}/measurements",
    response_model=Page[MeasurementOut],
    summary="A school's measurements, oldest first",
    responses=problem_responses(404, 422),
)
async def list_school_measurements(
    school: ReadableSchool,
    db: SessionDep,
    page: Annotated[PageParams, Depends(page_params)],
    since: Annotated[UtcDatetime | None, Query(description="measured at or after")] = None,
    until: Annotated[UtcDatetime | None, Query(description="measured before")] = None,
) -> Page[MeasurementOut]:
    rows, next_cursor = await measurement_service.list_school_measurements(
        db, school.id, since, until, page
    )
    return Page(items=[MeasurementOut.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{school_id}/daily",
    response_model=list[DailyOut],
    summary="A school's daily rollups (count, mean/min/max speeds and latency, uptime)",
    responses=problem_responses(404, 422),
)
async def school_daily(school: ReadableSchool, days: DayRange, db: SessionDep) -> list[DailyOut]:
    return await queries.school_daily(db, school.id, *days)
