import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assessment_api.indicators.schemas import Provenance
from assessment_api.methodology.schemas import CODE_PATTERN, Direction, Unit
from c2r_common.fields import StrictFloat
from c2r_common.schemas import C2RPhase, SG1Question


class Band(StrEnum):
    """ITU UMC scorecard bands."""

    LIMITED = "limited"  # below 50
    SATISFACTORY = "satisfactory"  # 50 to below 75
    ADVANCED = "advanced"  # 75 to below 95
    TARGET_MET = "target_met"  # 95 and above


class IndicatorBand(StrEnum):
    """An indicator's own UMC band, from its 0-100 score; no_data when it has no value."""

    LIMITED = "limited"
    SATISFACTORY = "satisfactory"
    ADVANCED = "advanced"
    TARGET_MET = "target_met"
    NO_DATA = "no_data"


class IndicatorStatus(StrEnum):
    SCORED = "scored"
    MISSING = "missing"  # no value entered
    UNAVAILABLE = "unavailable"  # a live source could not be read; see `reason`


class IndicatorScore(BaseModel):
    code: str
    name: str
    pillar: str
    unit: Unit
    direction: Direction
    status: IndicatorStatus
    value: float | None
    origin: str | None = Field(description="'entered', or the live source the value came from")
    reason: str | None = Field(
        None, description="why its live source could not be read (an entered value may stand in)"
    )
    score: float | None = Field(description="0-100 between the goalposts")
    band: IndicatorBand = Field(
        description="UMC band of the indicator's score (limited below 50, satisfactory 50-75, "
        "advanced 75-95, target_met 95-100), no_data without a value"
    )
    provenance: Provenance | None = Field(
        None, description="reported, estimated or imputed; null without a value"
    )
    target: float | None
    target_source: str | None
    weight_share: float = Field(description="share of the overall score this indicator carries")


class PillarScore(BaseModel):
    code: str
    name: str
    weight_share: float = Field(description="share of the overall score this pillar carries")
    score: float | None = Field(description="weighted mean of its available indicators")
    coverage: float = Field(description="share of the pillar's weight that has data, 0-1")
    indicators_available: int
    indicators_total: int


class ScoreCard(BaseModel):
    overall: float | None = Field(description="weighted mean of the pillar scores, 0-100")
    band: Band | None
    coverage: float = Field(description="share of the overall weight that has data, 0-1")
    estimated_share: float = Field(
        0.0,
        description="share of the overall score, 0-1, that rests on estimated or imputed "
        "values (their effective weight among the indicators scored)",
    )
    pillars: list[PillarScore]
    indicators: list[IndicatorScore]


class Gap(BaseModel):
    rank: int
    code: str
    name: str
    pillar: str
    value: float
    target: float
    target_source: str
    shortfall: float = Field(description="distance to the target in the indicator's unit")
    score_shortfall: float = Field(description="distance to the target in 0-100 score points")
    weighted_shortfall: float = Field(
        description="overall score points lost to this gap: score shortfall x weight share"
    )
    phase: C2RPhase
    sg1_question: SG1Question
    sg1_question_title: str
    interventions: list[str]


class GapReport(BaseModel):
    gaps: list[Gap] = Field(description="indicators short of target, largest weighted first")
    missing_data: list[str] = Field(description="indicators without a value: gaps in the data")


class AssessmentScores(ScoreCard):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
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
                            "name": ("Active mobile-broadband subscriptions per 100 inhabitants"),
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
                                "C2R platform working target for scoring v1 (no published target)"
                            ),
                            "weight_share": 0.0667,
                        },
                    ],
                    "assessment_id": ("9c9a1b72-8764-4700-bf14-883d5cabd259"),
                    "country_iso3": "NPL",
                    "period": "2026-H2",
                    "status": "draft",
                    "methodology_version": 1,
                }
            ]
        }
    )

    assessment_id: uuid.UUID
    country_iso3: str
    period: str
    status: str
    methodology_version: int


class AssessmentGaps(GapReport):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
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
                    "missing_data": [("mobile_broadband_subs_per_100"), "households_internet_pct"],
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
                }
            ]
        }
    )

    assessment_id: uuid.UUID
    country_iso3: str
    period: str
    status: str
    methodology_version: int
    unavailable: dict[str, str] = Field(
        description="live indicators whose source could not be read, with the reason"
    )


class WhatIfValue(BaseModel):
    code: str = Field(pattern=CODE_PATTERN, examples=["internet_users_pct"])
    value: StrictFloat | None = Field(
        examples=[60.0], description="the hypothetical value; null: as if there were none"
    )


class WhatIfIn(BaseModel):
    """Hypothetical indicator values, scored on top of the assessment's own; nothing is
    stored."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "values": [
                        {"code": "internet_users_pct", "value": 60.0},
                        {"code": "mobile_broadband_price_gni_pct", "value": 2.0},
                    ]
                }
            ]
        }
    )

    values: list[WhatIfValue] = Field(min_length=1, max_length=500)


class Outcome(BaseModel):
    """An overall score and its band."""

    overall: float | None
    band: Band | None


# Computed by the engine (methodology v1, illustrative values), shortened to one pillar,
# one indicator and one gap.
WHAT_IF_EXAMPLE: dict[str, Any] = {
    "assessment_id": "6b1f3c2e-9d4a-4f7e-8a21-3c5d7e9f1a2b",
    "country_iso3": "MRT",
    "period": "2025",
    "methodology_version": 1,
    "changed": ["internet_users_pct"],
    "baseline": {"overall": 52.31, "band": "satisfactory"},
    "overall_change": 4.92,
    "band_changed": False,
    "scores": {
        "overall": 57.23,
        "band": "satisfactory",
        "coverage": 0.4333,
        "estimated_share": 0.0,
        "pillars": [
            {
                "code": "adoption",
                "name": "Adoption and usage (demand)",
                "weight_share": 0.2,
                "score": 60.0,
                "coverage": 0.5,
                "indicators_available": 1,
                "indicators_total": 3,
            }
        ],
        "indicators": [
            {
                "code": "internet_users_pct",
                "name": "Individuals using the Internet",
                "pillar": "adoption",
                "unit": "percent",
                "direction": "higher_is_better",
                "status": "scored",
                "value": 60.0,
                "origin": "what-if",
                "reason": None,
                "score": 60.0,
                "band": "satisfactory",
                "provenance": "reported",
                "target": 35.0,
                "target_source": "Broadband Commission 2025 targets",
                "weight_share": 0.1,
            }
        ],
    },
    "gaps": {
        "gaps": [
            {
                "rank": 1,
                "code": "pop_coverage_4g_pct",
                "name": "Population covered by at least a 4G mobile network",
                "pillar": "coverage",
                "value": 62.0,
                "target": 100.0,
                "target_source": "ITU UMC 2030 targets (universal and meaningful connectivity)",
                "shortfall": 38.0,
                "score_shortfall": 38.0,
                "weighted_shortfall": 5.0667,
                "phase": "national_strategy",
                "sg1_question": "Q5/1",
                "sg1_question_title": "Telecommunications/ICTs for rural and remote areas",
                "interventions": [
                    "Coverage obligations in spectrum licences",
                    "Universal service fund financing of rural sites",
                    "Infrastructure sharing rules",
                ],
            }
        ],
        "missing_data": ["mobile_broadband_subs_per_100", "households_internet_pct"],
    },
}


class WhatIfResult(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [WHAT_IF_EXAMPLE]})

    assessment_id: uuid.UUID
    country_iso3: str
    period: str
    methodology_version: int
    changed: list[str] = Field(description="indicators whose value the hypotheses change")
    baseline: Outcome = Field(description="the assessment as it is scored now")
    overall_change: float | None = Field(description="score points gained (or lost)")
    band_changed: bool
    scores: ScoreCard = Field(description="the scores with the hypothetical values")
    gaps: GapReport = Field(description="the gaps with the hypothetical values, re-ranked")
