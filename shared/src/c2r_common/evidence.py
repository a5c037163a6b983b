"""The evidence pack of a technical-assistance request: what request-intake reads of
assessment-api (the country's latest finished assessment) and of school-monitor (its school
connectivity), for reviewers. Each part is either available or unavailable with the reason,
so that a slow or failed service never hides the other part.

The reading models (LatestAssessments, ScoresSummary, GapsSummary) hold only the fields a
reader relies on in assessment-api's answers; fields they do not name are ignored, so that
assessment-api may add fields without breaking its readers.
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from c2r_common.schemas import C2RPhase, CountryConnectivitySummary, SG1Question


class Unavailable(BaseModel):
    """A part that could not be read, and why (slow, down, an error, no data)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "unavailable", "reason": "school-monitor did not answer within 3.0 s"}
            ]
        }
    )

    status: Literal["unavailable"] = "unavailable"
    reason: str


# --- what is read of assessment-api -----------------------------------------------------


class LatestAssessment(BaseModel):
    """A row of `GET /v1/assessments/compare`: a country's latest finished assessment, as
    assessment-api chooses it (the latest period; within it, the newest methodology
    version, which may be a re-scored copy)."""

    assessment_id: uuid.UUID
    country_iso3: str
    period: str
    status: str
    methodology_version: int


class LatestAssessments(BaseModel):
    """What is read of `GET /v1/assessments/compare`."""

    rows: list[LatestAssessment]


class PillarSummary(BaseModel):
    code: str
    name: str
    score: float | None
    coverage: float = Field(description="share of the pillar's weight that has data, 0-1")


class ScoresSummary(BaseModel):
    """What is read of `GET /v1/assessments/{id}/scores`."""

    overall: float | None = Field(description="0-100")
    band: str | None = Field(description="the ITU UMC band of the overall score")
    coverage: float
    pillars: list[PillarSummary]


class GapSummary(BaseModel):
    rank: int
    code: str
    name: str
    pillar: str
    value: float
    target: float
    weighted_shortfall: float = Field(description="overall score points lost to this gap")
    phase: C2RPhase
    sg1_question: SG1Question
    sg1_question_title: str


class GapsSummary(BaseModel):
    """What is read of `GET /v1/assessments/{id}/gaps`."""

    gaps: list[GapSummary] = Field(description="largest weighted shortfall first")
    missing_data: list[str]


# --- the pack -----------------------------------------------------------------------------


class AssessmentEvidence(BaseModel):
    status: Literal["available"] = "available"
    assessment_id: uuid.UUID
    period: str
    assessment_status: str = Field(description="where the assessment is in its lifecycle")
    methodology_version: int
    overall: float | None
    band: str | None
    coverage: float
    pillars: list[PillarSummary]
    top_gaps: list[GapSummary] = Field(description="the largest gaps, with phase and Question")
    missing_data: list[str] = Field(description="indicators without a value")


class ConnectivityEvidence(BaseModel):
    status: Literal["available"] = "available"
    summary: CountryConnectivitySummary


AssessmentPart = Annotated[AssessmentEvidence | Unavailable, Field(discriminator="status")]
ConnectivityPart = Annotated[ConnectivityEvidence | Unavailable, Field(discriminator="status")]


class EvidencePack(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "0c9e2f4a-7b1d-4e3a-9f5c-2d8b6a1e4f70",
                    "country_iso3": "RWA",
                    "generated_at": "2026-06-12T10:00:00Z",
                    "assessment": {
                        "status": "available",
                        "assessment_id": "6b1f3c2e-9d4a-4f7e-8a21-3c5d7e9f1a2b",
                        "period": "2025",
                        "assessment_status": "completed",
                        "methodology_version": 1,
                        "overall": 48.2,
                        "band": "limited",
                        "coverage": 0.9,
                        "pillars": [
                            {"code": "supply", "name": "Supply", "score": 52.0, "coverage": 1.0}
                        ],
                        "top_gaps": [
                            {
                                "rank": 1,
                                "code": "internet_users_pct",
                                "name": "Individuals using the Internet",
                                "pillar": "demand",
                                "value": 30.5,
                                "target": 35.0,
                                "weighted_shortfall": 4.1,
                                "phase": "national_strategy",
                                "sg1_question": "Q1/1",
                                "sg1_question_title": "Strategies and policies for the "
                                "deployment of broadband",
                            }
                        ],
                        "missing_data": [],
                    },
                    "connectivity": {
                        "status": "unavailable",
                        "reason": "school-monitor did not answer within 3.0 s",
                    },
                }
            ]
        }
    )

    request_id: uuid.UUID
    country_iso3: str
    generated_at: datetime
    assessment: AssessmentPart = Field(description="the country's latest finished assessment")
    connectivity: ConnectivityPart = Field(description="its schools' connectivity")
