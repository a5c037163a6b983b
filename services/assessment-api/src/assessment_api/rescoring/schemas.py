import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assessment_api.scoring.schemas import GapReport, Outcome, ScoreCard
from c2r_common.fields import PositiveInt32

# Shortened to one pillar, one indicator and one gap.
PREVIEW_EXAMPLE: dict[str, Any] = {
    "assessment_id": "6b1f3c2e-9d4a-4f7e-8a21-3c5d7e9f1a2b",
    "country_iso3": "MRT",
    "period": "2025",
    "status": "completed",
    "from_version": 1,
    "to_version": 2,
    "current": {"overall": 52.31, "band": "satisfactory"},
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
                "origin": "entered",
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
    "not_carried": [{"code": "ixp_count", "reason": "no indicator ixp_count in methodology v2"}],
    "existing_assessment_id": None,
}


class RescoreIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"methodology_version": 2}]})

    methodology_version: PositiveInt32 | None = Field(
        None, description="a published version other than the assessment's; default: the latest"
    )


class NotCarried(BaseModel):
    """A value of the assessment that the other methodology version cannot take."""

    code: str
    reason: str


class RescorePreview(BaseModel):
    """An assessment's scores under another methodology version, beside its own; nothing is
    stored."""

    model_config = ConfigDict(json_schema_extra={"examples": [PREVIEW_EXAMPLE]})

    assessment_id: uuid.UUID
    country_iso3: str
    period: str
    status: str
    from_version: int = Field(description="the version the assessment is scored under")
    to_version: int = Field(description="the version of this preview")
    current: Outcome = Field(description="the assessment as it is scored now")
    overall_change: float | None = Field(description="score points gained (or lost)")
    band_changed: bool
    scores: ScoreCard = Field(description="the same values scored under `to_version`")
    gaps: GapReport = Field(description="the gaps under `to_version`")
    not_carried: list[NotCarried] = Field(
        description="values left out: their indicator is not in `to_version`, or its unit "
        "there does not allow them"
    )
    existing_assessment_id: uuid.UUID | None = Field(
        description="the re-scored copy under `to_version`, when there already is one"
    )
