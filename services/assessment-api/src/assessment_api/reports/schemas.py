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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "assessment": {
                        "id": ("9c9a1b72-8764-4700-bf14-883d5cabd259"),
                        "country_iso3": "NPL",
                        "country_name": "Nepal",
                        "period": "2026-H2",
                        "title": "Nepal 2026-H2",
                        "methodology_version": 1,
                        "status": "draft",
                        "allowed_transitions": ["data_collection"],
                        "revision": 2,
                        "source_request_id": None,
                        "translations": [],
                        "created_by": "analyst@itu.int",
                        "created_at": "2026-12-02T08:07:49.179724Z",
                        "updated_at": "2026-12-02T08:07:49.251683Z",
                    },
                    "indicators": [
                        {
                            "code": "pop_coverage_4g_pct",
                            "name": ("Population covered by at least a 4G mobile network"),
                            "pillar": "coverage",
                            "unit": "percent",
                            "direction": "higher_is_better",
                            "required": True,
                            "live_source": None,
                            "value": 90.0,
                            "year": 2025,
                            "source": "analyst@itu.int",
                            "note": None,
                            "provenance": "reported",
                            "source_url": None,
                            "updated_by": "analyst@itu.int",
                            "updated_at": "2026-12-02T08:07:49.251586Z",
                        },
                        {
                            "code": ("mobile_broadband_subs_per_100"),
                            "name": ("Active mobile-broadband subscriptions per 100 inhabitants"),
                            "pillar": "coverage",
                            "unit": "per_100",
                            "direction": "higher_is_better",
                            "required": False,
                            "live_source": None,
                            "value": None,
                            "year": None,
                            "source": None,
                            "note": None,
                            "provenance": None,
                            "source_url": None,
                            "updated_by": None,
                            "updated_at": None,
                        },
                    ],
                    "scores": {
                        "overall": 60.0,
                        "band": "satisfactory",
                        "coverage": 0.2333,
                        "estimated_share": 0.0,
                        "pillars": [
                            {
                                "code": "coverage",
                                "name": ("Coverage and capacity (supply)"),
                                "weight_share": 0.2,
                                "score": 90.0,
                                "coverage": 0.6667,
                                "indicators_available": 1,
                                "indicators_total": 2,
                            },
                            {
                                "code": "adoption",
                                "name": "Adoption and usage (demand)",
                                "weight_share": 0.2,
                                "score": 30.0,
                                "coverage": 0.5,
                                "indicators_available": 1,
                                "indicators_total": 3,
                            },
                        ],
                        "indicators": [
                            {
                                "code": "pop_coverage_4g_pct",
                                "name": ("Population covered by at least a 4G mobile network"),
                                "pillar": "coverage",
                                "unit": "percent",
                                "direction": "higher_is_better",
                                "status": "scored",
                                "value": 90.0,
                                "origin": "entered",
                                "reason": None,
                                "score": 90.0,
                                "band": "advanced",
                                "provenance": "reported",
                                "target": 100.0,
                                "target_source": (
                                    "ITU UMC 2030 targets (universal and meaningful connectivity)"
                                ),
                                "weight_share": 0.1333,
                            },
                            {
                                "code": ("mobile_broadband_subs_per_100"),
                                "name": (
                                    "Active mobile-broadband subscriptions per 100 inhabitants"
                                ),
                                "pillar": "coverage",
                                "unit": "per_100",
                                "direction": "higher_is_better",
                                "status": "missing",
                                "value": None,
                                "origin": None,
                                "reason": None,
                                "score": None,
                                "band": "no_data",
                                "provenance": None,
                                "target": 100.0,
                                "target_source": (
                                    "C2R platform working target "
                                    "for scoring v1 (no "
                                    "published target)"
                                ),
                                "weight_share": 0.0667,
                            },
                        ],
                        "assessment_id": ("9c9a1b72-8764-4700-bf14-883d5cabd259"),
                        "country_iso3": "NPL",
                        "period": "2026-H2",
                        "status": "draft",
                        "methodology_version": 1,
                    },
                    "gaps": {
                        "gaps": [
                            {
                                "rank": 1,
                                "code": "pop_coverage_4g_pct",
                                "name": ("Population covered by at least a 4G mobile network"),
                                "pillar": "coverage",
                                "value": 90.0,
                                "target": 100.0,
                                "target_source": (
                                    "ITU UMC 2030 targets (universal and meaningful connectivity)"
                                ),
                                "shortfall": 10.0,
                                "score_shortfall": 10.0,
                                "weighted_shortfall": 1.3333,
                                "phase": "national_strategy",
                                "sg1_question": "Q5/1",
                                "sg1_question_title": (
                                    "Telecommunications/ICTs for rural and remote areas"
                                ),
                                "interventions": [
                                    ("Coverage obligations in spectrum licences"),
                                    ("Universal service fund financing of rural sites"),
                                ],
                            },
                            {
                                "rank": 2,
                                "code": "internet_users_pct",
                                "name": ("Individuals using the Internet"),
                                "pillar": "adoption",
                                "value": 30.0,
                                "target": 35.0,
                                "target_source": ("Broadband Commission 2025 targets"),
                                "shortfall": 5.0,
                                "score_shortfall": 5.0,
                                "weighted_shortfall": 0.5,
                                "phase": "national_strategy",
                                "sg1_question": "Q1/1",
                                "sg1_question_title": (
                                    "Strategies and policies for the deployment of broadband"
                                ),
                                "interventions": [
                                    ("National ICT strategy with adoption targets"),
                                    ("Public access points and community networks"),
                                ],
                            },
                        ],
                        "missing_data": [
                            ("mobile_broadband_subs_per_100"),
                            "households_internet_pct",
                        ],
                        "assessment_id": ("9c9a1b72-8764-4700-bf14-883d5cabd259"),
                        "country_iso3": "NPL",
                        "period": "2026-H2",
                        "status": "draft",
                        "methodology_version": 1,
                        "unavailable": {
                            "schools_connected_pct": (
                                "school-monitor has no classified schools for NPL"
                            )
                        },
                    },
                }
            ]
        }
    )

    assessment: AssessmentOut
    indicators: list[IndicatorValueOut]
    scores: AssessmentScores
    gaps: AssessmentGaps


class ScoreRow(BaseModel):
    """One assessment's headline scores, as used in tables, time series and comparisons."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
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
            ]
        }
    )

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
