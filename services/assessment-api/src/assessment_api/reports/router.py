from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from assessment_api.assessments.dependencies import ReadableAssessment
from assessment_api.connectivity.reader import SchoolMonitorDep
from assessment_api.dependencies import Reader
from assessment_api.reports import service
from assessment_api.reports.schemas import (
    AssessmentExport,
    Comparison,
    CountryScores,
    ExportFormat,
    RegionalAggregates,
    ScoreRow,
)
from c2r_common.csv_safety import csv_response
from c2r_common.db import SessionDep
from c2r_common.errors import problem_responses
from c2r_common.fields import INT32_MAX
from c2r_common.pagination import example_of
from c2r_common.problems import InvalidField, require_visible_country
from c2r_common.reference import country_by_iso3

assessments_reports = APIRouter(
    prefix="/v1/assessments", tags=["reports"], responses=problem_responses(401, 403, 422)
)
countries_reports = APIRouter(
    prefix="/v1/countries", tags=["reports"], responses=problem_responses(401, 403, 422)
)
Format = Annotated[ExportFormat, Query(alias="format", description="json or csv")]
IncludeInProgress = Annotated[
    bool,
    Query(description="count assessments not yet completed (default: completed and later only)"),
]


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _country_codes(raw: str) -> list[str]:
    codes = [c.strip().upper() for c in raw.split(",") if c.strip()]
    unknown = [c for c in codes if country_by_iso3(c) is None]
    if unknown or not codes:
        raise InvalidField(
            "query.countries",
            f"unknown: {unknown}",
            "Give known ISO alpha-3 codes separated by commas.",
        )
    return list(dict.fromkeys(codes))


@assessments_reports.get(
    "/compare",
    response_model=Comparison,
    summary="Compare countries on their latest assessments",
)
async def compare_countries(
    principal: Reader,
    db: SessionDep,
    countries: Annotated[str, Query(description="ISO alpha-3 codes", examples=["MRT,ZWE,RWA"])],
    include_in_progress: IncludeInProgress = False,
) -> Comparison:
    return await service.compare(db, _country_codes(countries), include_in_progress, principal)


@assessments_reports.get(
    "/regions",
    response_model=RegionalAggregates,
    summary="Scores aggregated by ITU-D region and by LDC, LLDC and SIDS group "
    "(latest assessment per country)",
)
async def regional_aggregates(
    principal: Reader, db: SessionDep, include_in_progress: IncludeInProgress = False
) -> RegionalAggregates:
    return await service.regional_aggregates(db, include_in_progress, principal)


@assessments_reports.get(
    "/latest-scores",
    response_model=list[ScoreRow],
    summary="A table of every country's latest scores (JSON or CSV)",
    responses=csv_response(
        service.score_table_csv([ScoreRow.model_validate(example_of(ScoreRow))])
    ),
)
async def latest_scores(
    principal: Reader,
    db: SessionDep,
    output: Format = ExportFormat.JSON,
    include_in_progress: IncludeInProgress = False,
) -> Any:
    rows = await service.latest_rows(db, include_in_progress, principal)
    if output is ExportFormat.CSV:
        return _csv(service.score_table_csv(rows), "c2r-latest-scores.csv")
    return rows


@assessments_reports.get(
    "/{assessment_id}/export",
    response_model=AssessmentExport,
    summary="An assessment with its indicators, scores and gaps (JSON or CSV)",
    responses=csv_response(
        service.export_csv(AssessmentExport.model_validate(example_of(AssessmentExport)))
    )
    | problem_responses(404),
)
async def export_assessment(
    assessment: ReadableAssessment,
    db: SessionDep,
    reader: SchoolMonitorDep,
    output: Format = ExportFormat.JSON,
) -> Any:
    document = await service.export(db, assessment, reader)
    if output is ExportFormat.CSV:
        filename = f"c2r-assessment-{assessment.country_iso3}-{assessment.period}.csv"
        return _csv(service.export_csv(document), filename)
    return document


@countries_reports.get(
    "/{iso3}/scores",
    response_model=CountryScores,
    summary="A country's scores over time, one entry per assessment and methodology version",
    responses=problem_responses(404),
)
async def country_scores(
    principal: Reader,
    iso3: Annotated[str, Path(pattern="^[A-Za-z]{3}$", examples=["MRT"])],
    db: SessionDep,
    include_in_progress: IncludeInProgress = False,
    methodology_version: Annotated[
        int | None,
        Query(ge=1, le=INT32_MAX, description="only the points scored under this version"),
    ] = None,
) -> CountryScores:
    country = require_visible_country(principal, iso3)
    return await service.country_series(db, country.iso3, include_in_progress, methodology_version)
