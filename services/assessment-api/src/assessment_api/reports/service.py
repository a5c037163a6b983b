"""Exports, time series, comparisons and regional aggregates of assessment scores.

Everything here scores stored values only: these views span many countries, and calling
school-monitor once per country would make them as slow as its slowest answer. Completed
assessments carry the schools value captured on completion, so their scores match.
"""

import io
from collections.abc import Iterable, Sequence
from statistics import fmean
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from assessment_api.assessments import lifecycle
from assessment_api.assessments import service as assessments
from assessment_api.assessments.models import Assessment
from assessment_api.assessments.schemas import AssessmentStatus
from assessment_api.connectivity.reader import SchoolMonitorReader
from assessment_api.indicators import service as indicators
from assessment_api.reports.schemas import (
    AssessmentExport,
    Comparison,
    CountryGroupCode,
    CountryScores,
    GroupAggregate,
    RegionAggregate,
    RegionalAggregates,
    ScoreAggregate,
    ScoreRow,
)
from assessment_api.scoring import service as scoring
from assessment_api.scoring.schemas import Band
from c2r_common.auth import Principal
from c2r_common.csv_safety import SafeDictWriter, SafeWriter
from c2r_common.reference import ItuRegion, country_by_iso3


async def export(
    db: AsyncSession, assessment: Assessment, reader: SchoolMonitorReader
) -> AssessmentExport:
    inputs = await scoring.live_inputs(db, assessment, reader)
    return AssessmentExport(
        assessment=assessments.to_out(assessment),
        indicators=await indicators.list_values(db, assessment),
        scores=scoring.scores_from(assessment, inputs),
        gaps=scoring.gaps_from(assessment, inputs),
    )


EXPORT_COLUMNS = (
    "record",
    "code",
    "name",
    "pillar",
    "unit",
    "value",
    "year",
    "source",
    "provenance",
    "source_url",
    "note",
    "score",
    "band",
    "target",
    "target_source",
    "status",
    "estimated_share",
    "rank",
    "weighted_shortfall",
    "phase",
    "sg1_question",
)


def export_csv(document: AssessmentExport) -> str:
    """One table: a row per indicator, per pillar, the overall score and one per gap."""
    buffer = io.StringIO()
    writer = SafeDictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    entered = {i.code: i for i in document.indicators}
    scores = document.scores
    for indicator in scores.indicators:
        stored = entered.get(indicator.code)
        writer.writerow(
            {
                "record": "indicator",
                "code": indicator.code,
                "name": indicator.name,
                "pillar": indicator.pillar,
                "unit": indicator.unit,
                "value": indicator.value,
                "year": stored.year if stored else None,
                "source": stored.source if stored else indicator.origin,
                "provenance": indicator.provenance,
                "source_url": stored.source_url if stored else None,
                "note": stored.note if stored else None,
                "score": indicator.score,
                "band": indicator.band,
                "target": indicator.target,
                "target_source": indicator.target_source,
                "status": indicator.status,
            }
        )
    for pillar in scores.pillars:
        writer.writerow(
            {"record": "pillar", "code": pillar.code, "name": pillar.name, "score": pillar.score}
        )
    writer.writerow(
        {
            "record": "overall",
            "score": scores.overall,
            "band": scores.band,
            "status": scores.band,
            "estimated_share": scores.estimated_share,
        }
    )
    for gap in document.gaps.gaps:
        writer.writerow(
            {
                "record": "gap",
                "code": gap.code,
                "name": gap.name,
                "pillar": gap.pillar,
                "value": gap.value,
                "target": gap.target,
                "target_source": gap.target_source,
                "rank": gap.rank,
                "weighted_shortfall": gap.weighted_shortfall,
                "phase": gap.phase,
                "sg1_question": gap.sg1_question,
            }
        )
    return buffer.getvalue()


def score_row(assessment: Assessment, inputs: scoring.ScoringInputs) -> ScoreRow:
    card = scoring.scores_from(assessment, inputs)
    country = country_by_iso3(assessment.country_iso3)
    assert country is not None  # assessments are only created for known countries
    return ScoreRow(
        assessment_id=assessment.id,
        country_iso3=assessment.country_iso3,
        country_name=country.name,
        itu_region=country.itu_region,
        period=assessment.period,
        status=assessment.status,
        methodology_version=assessment.methodology_version,
        rescored_from_id=assessment.rescored_from_id,
        overall=card.overall,
        band=card.band,
        coverage=card.coverage,
        estimated_share=card.estimated_share,
        pillars={p.code: p.score for p in card.pillars},
    )


async def score_rows(db: AsyncSession, chosen: Sequence[Assessment]) -> list[ScoreRow]:
    inputs = await scoring.stored_inputs_many(db, chosen)
    return [score_row(a, inputs[a.id]) for a in chosen]


def _counted(include_in_progress: bool) -> list[str]:
    statuses = AssessmentStatus if include_in_progress else lifecycle.FINISHED_STATUSES
    return sorted(statuses)


async def country_series(
    db: AsyncSession, iso3: str, include_in_progress: bool, methodology_version: int | None = None
) -> CountryScores:
    """The country's scores over time; under one methodology version only when asked, so
    that the points compare (re-scored copies stand in for the originals of that version)."""
    statement = select(Assessment).where(
        Assessment.country_iso3 == iso3, Assessment.status.in_(_counted(include_in_progress))
    )
    if methodology_version is not None:
        statement = statement.where(Assessment.methodology_version == methodology_version)
    order = (Assessment.period, Assessment.methodology_version, Assessment.id)
    chosen = list(await db.scalars(statement.order_by(*order)))
    return CountryScores(country_iso3=iso3, series=await score_rows(db, chosen))


async def latest_assessments(
    db: AsyncSession,
    include_in_progress: bool,
    principal: Principal,
    countries: Iterable[str] | None = None,
) -> list[Assessment]:
    """The latest assessment (by period) of each country the caller may see."""
    statement = select(Assessment).where(Assessment.status.in_(_counted(include_in_progress)))
    if countries is not None:
        statement = statement.where(Assessment.country_iso3.in_(sorted(countries)))
    if principal.countries is not None:
        statement = statement.where(Assessment.country_iso3.in_(sorted(principal.countries)))
    latest: dict[str, Assessment] = {}
    order = (Assessment.period, Assessment.methodology_version)
    for assessment in await db.scalars(statement.order_by(*order)):
        # Later periods overwrite earlier ones; within a period, the newest version wins.
        latest[assessment.country_iso3] = assessment
    return [latest[code] for code in sorted(latest)]


async def latest_rows(
    db: AsyncSession,
    include_in_progress: bool,
    principal: Principal,
    countries: Iterable[str] | None = None,
) -> list[ScoreRow]:
    chosen = await latest_assessments(db, include_in_progress, principal, countries)
    return await score_rows(db, chosen)


async def compare(
    db: AsyncSession, countries: list[str], include_in_progress: bool, principal: Principal
) -> Comparison:
    rows = await latest_rows(db, include_in_progress, principal, countries)
    rows.sort(key=lambda r: (-(r.overall if r.overall is not None else -1), r.country_iso3))
    assessed = {r.country_iso3 for r in rows}
    # A country outside the caller's is left out, not called unassessed: whether it has
    # been assessed is its own business.
    visible = [c for c in countries if principal.can_access_country(c)]
    return Comparison(rows=rows, not_assessed=[c for c in visible if c not in assessed])


def _round(value: float) -> float:
    return round(value, 2)


GROUP_NAMES = {
    CountryGroupCode.LDC: "Least developed countries",
    CountryGroupCode.LLDC: "Landlocked developing countries",
    CountryGroupCode.SIDS: "Small island developing states",
}


def in_group(iso3: str, group: CountryGroupCode) -> bool:
    country = country_by_iso3(iso3)
    return country is not None and bool(getattr(country, group.value))


def aggregate_region(region: ItuRegion, rows: list[ScoreRow]) -> RegionAggregate:
    return RegionAggregate(itu_region=region, **_aggregate(rows))


def aggregate_group(group: CountryGroupCode, rows: list[ScoreRow]) -> GroupAggregate:
    members = [r for r in rows if in_group(r.country_iso3, group)]
    return GroupAggregate(group=group, name=GROUP_NAMES[group], **_aggregate(members))


def _aggregate(rows: list[ScoreRow]) -> dict[str, Any]:
    """The figures every aggregate gives, over `rows` (one per country)."""
    overall = [r.overall for r in rows if r.overall is not None]
    pillar_codes = sorted({code for r in rows for code in r.pillars})
    pillar_means: dict[str, float | None] = {}
    for code in pillar_codes:
        scores = [s for r in rows if (s := r.pillars.get(code)) is not None]
        pillar_means[code] = _round(fmean(scores)) if scores else None
    return ScoreAggregate(
        countries_assessed=len(rows),
        mean_overall=_round(fmean(overall)) if overall else None,
        min_overall=min(overall) if overall else None,
        max_overall=max(overall) if overall else None,
        bands={band: sum(1 for r in rows if r.band is band) for band in Band},
        pillars=pillar_means,
    ).model_dump()


async def regional_aggregates(
    db: AsyncSession, include_in_progress: bool, principal: Principal
) -> RegionalAggregates:
    rows = await latest_rows(db, include_in_progress, principal)
    return RegionalAggregates(
        regions=[
            aggregate_region(region, [r for r in rows if r.itu_region is region])
            for region in ItuRegion
        ],
        groups=[aggregate_group(group, rows) for group in CountryGroupCode],
    )


SCORE_TABLE_FIXED = (
    "country_iso3",
    "country_name",
    "itu_region",
    "period",
    "status",
    "methodology_version",
    "overall",
    "band",
    "coverage",
    "estimated_share",
)


def score_table_csv(rows: list[ScoreRow]) -> str:
    pillar_codes = sorted({code for r in rows for code in r.pillars})
    buffer = io.StringIO()
    writer = SafeWriter(buffer, lineterminator="\n")
    writer.writerow([*SCORE_TABLE_FIXED, *(f"pillar_{c}" for c in pillar_codes)])
    for row in rows:
        fixed = row.model_dump(mode="json", include=set(SCORE_TABLE_FIXED))
        writer.writerow(
            [*(fixed[c] for c in SCORE_TABLE_FIXED), *(row.pillars.get(c) for c in pillar_codes)]
        )
    return buffer.getvalue()
