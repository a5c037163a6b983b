import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from assessment_api.assessments.schemas import AssessmentOut
from assessment_api.indicators.schemas import IndicatorValueOut
from assessment_api.scoring.schemas import AssessmentGaps, AssessmentScores, Band
from c2r_common.reference import ItuRegion


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


class AssessmentExport(BaseModel):
    assessment: AssessmentOut
    indicators: list[IndicatorValueOut]
    scores: AssessmentScores
    gaps: AssessmentGaps


class ScoreRow(BaseModel):
    """One assessment's headline scores, as used in tables, time series and comparisons."""

    assessment_id: uuid.UUID
    country_iso3: str
    country_name: str
    itu_region: ItuRegion
    period: str
    status: str
    methodology_version: int = Field(
        description="the methodology version this point is scored under"
    )
    rescored_from_id: uuid.UUID | None = Field(
        None, description="the assessment this one re-scores under its version (null: original)"
    )
    overall: float | None
    band: Band | None
    coverage: float
    estimated_share: float = Field(
        0.0, description="share of the overall score resting on estimated or imputed values"
    )
    pillars: dict[str, float | None] = Field(description="pillar code -> score")


class CountryScores(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"country_iso3": "RWA", "series": []}]}
    )

    country_iso3: str
    series: list[ScoreRow] = Field(
        description="the country's assessments by period, then methodology version: a "
        "re-scored copy follows its original"
    )


class Comparison(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rows": [
                        {
                            "assessment_id": ("9c9a1b72-8764-4700-bf14-883d5cabd259"),
                            "country_iso3": "NPL",
                            "country_name": "Nepal",
                            "itu_region": "Asia & Pacific",
                            "period": "2026-H2",
                            "status": "draft",
                            "methodology_version": 1,
                            "overall": 60.0,
                            "band": "satisfactory",
                            "coverage": 0.2333,
                            "estimated_share": 0.0,
                            "pillars": {
                                "coverage": 90.0,
                                "adoption": 30.0,
                                "affordability": None,
                                "digital_skills": None,
                                "anchor_institutions": None,
                                "network_resilience": None,
                                "policy": None,
                            },
                        }
                    ],
                    "not_assessed": ["RWA"],
                }
            ]
        }
    )

    rows: list[ScoreRow] = Field(description="latest assessment per country, best score first")
    not_assessed: list[str] = Field(
        description="asked-for countries of the caller's with no assessment (others are left out)"
    )


class CountryGroupCode(StrEnum):
    """UN M49 groupings of countries the C2R programme reports on besides the regions."""

    LDC = "ldc"  # least developed countries
    LLDC = "lldc"  # landlocked developing countries
    SIDS = "sids"  # small island developing states


class ScoreAggregate(BaseModel):
    countries_assessed: int
    mean_overall: float | None = Field(description="unweighted mean of the countries' scores")
    min_overall: float | None
    max_overall: float | None
    bands: dict[Band, int]
    pillars: dict[str, float | None] = Field(description="mean pillar scores")


class RegionAggregate(ScoreAggregate):
    itu_region: ItuRegion


class GroupAggregate(ScoreAggregate):
    group: CountryGroupCode
    name: str = Field(examples=["Least developed countries"])


class RegionalAggregates(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "regions": [
                        {
                            "countries_assessed": 0,
                            "mean_overall": None,
                            "min_overall": None,
                            "max_overall": None,
                            "bands": {
                                "limited": 0,
                                "satisfactory": 0,
                                "advanced": 0,
                                "target_met": 0,
                            },
                            "pillars": {},
                            "itu_region": "Africa",
                        },
                        {
                            "countries_assessed": 0,
                            "mean_overall": None,
                            "min_overall": None,
                            "max_overall": None,
                            "bands": {
                                "limited": 0,
                                "satisfactory": 0,
                                "advanced": 0,
                                "target_met": 0,
                            },
                            "pillars": {},
                            "itu_region": "Americas",
                        },
                    ],
                    "groups": [
                        {
                            "countries_assessed": 0,
                            "mean_overall": None,
                            "min_overall": None,
                            "max_overall": None,
                            "bands": {
                                "limited": 0,
                                "satisfactory": 0,
                                "advanced": 0,
                                "target_met": 0,
                            },
                            "pillars": {},
                            "group": "ldc",
                            "name": "Least developed countries",
                        },
                        {
                            "countries_assessed": 0,
                            "mean_overall": None,
                            "min_overall": None,
                            "max_overall": None,
                            "bands": {
                                "limited": 0,
                                "satisfactory": 0,
                                "advanced": 0,
                                "target_met": 0,
                            },
                            "pillars": {},
                            "group": "lldc",
                            "name": ("Landlocked developing countries"),
                        },
                    ],
                }
            ]
        }
    )

    regions: list[RegionAggregate]
    groups: list[GroupAggregate] = Field(
        description="the same figures for the LDC, LLDC and SIDS groups (UN M49); a country "
        "may be in more than one"
    )
