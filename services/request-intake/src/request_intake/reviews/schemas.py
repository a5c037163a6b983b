import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.config import JsonDict
from pydantic_core import InitErrorDetails, PydanticCustomError

from c2r_common.fields import JsonInteger, NoNulStr, UtcDatetime
from request_intake.assistance_requests.workflow import Status
from request_intake.reviews.aggregate import Recommendation

CriterionCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["relevance"])]
ScaleEnd = Annotated[int, Field(ge=0, le=100), JsonInteger]
Score = Annotated[int, Field(ge=0, le=100), JsonInteger]


class ReviewerRole(StrEnum):
    SCREENING = "screening"  # eligibility and completeness
    TECHNICAL = "technical"  # the substance of the request


class CriterionIn(BaseModel):
    code: CriterionCode
    label: NoNulStr = Field(min_length=1, max_length=300)
    scale_min: ScaleEnd = 0
    scale_max: ScaleEnd = 5
    weight: float = Field(1.0, gt=0, le=100, allow_inf_nan=False)

    @model_validator(mode="after")
    def _scale_has_two_ends(self) -> Self:
        if self.scale_max <= self.scale_min:
            raise ValueError("scale_max must be above scale_min")
        return self


FORM_EXAMPLE: JsonDict = {
    "criteria": [
        {"code": "relevance", "label": "Relevance to C2R", "scale_max": 5, "weight": 2},
        {"code": "feasibility", "label": "Feasibility", "scale_max": 5, "weight": 1},
    ],
    "reviews_required": 2,
}


class ReviewFormIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [FORM_EXAMPLE]})

    criteria: list[CriterionIn] = Field(min_length=1, max_length=30)
    reviews_required: Annotated[int, Field(ge=0, le=20), JsonInteger] = Field(
        description="submitted reviews a request needs before approval"
    )

    @model_validator(mode="after")
    def _codes_unique(self) -> Self:
        seen: set[str] = set()
        for index, criterion in enumerate(self.criteria):
            if criterion.code in seen:
                # A plain ValueError would name the whole body; the client needs the entry.
                raise _duplicate_code(index, criterion.code)
            seen.add(criterion.code)
        return self


def _duplicate_code(index: int, code: str) -> ValidationError:
    error = PydanticCustomError("duplicate_code", "criterion codes must be unique")
    details = InitErrorDetails(type=error, loc=("criteria", index, "code"), input=code)
    return ValidationError.from_exception_data(ReviewFormIn.__name__, [details])


class CriterionOut(BaseModel):
    code: str
    label: str
    scale_min: int
    scale_max: int
    weight: float


class ReviewFormOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "call_id": "3f1c8a52-6d0e-4b7a-9c2f-1e5d7a9b3c40",
                    "criteria": [
                        {
                            "code": "relevance",
                            "label": "Relevance to C2R",
                            "scale_min": 0,
                            "scale_max": 5,
                            "weight": 2.0,
                        }
                    ],
                    "reviews_required": 2,
                    "updated_by": "bdt-staff-17",
                    "updated_at": "2026-06-01T09:00:00Z",
                }
            ]
        }
    )

    call_id: uuid.UUID
    criteria: list[CriterionOut]
    reviews_required: int
    updated_by: str
    updated_at: datetime


class AssignmentIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"reviewer": "reviewer-42", "role": "technical", "due_at": "2026-06-20T17:00:00Z"}
            ]
        }
    )

    reviewer: NoNulStr = Field(
        min_length=1, max_length=200, description="the reviewer's subject (the token's `sub`)"
    )
    role: ReviewerRole
    due_at: UtcDatetime = Field(description="when the review is due; in the future")


ASSIGNMENT_EXAMPLE: JsonDict = {
    "id": "a4e2b7c1-5d3f-4e8a-9b6c-0d1e2f3a4b5c",
    "request_id": "0c9e2f4a-7b1d-4e3a-9f5c-2d8b6a1e4f70",
    "reviewer": "reviewer-42",
    "role": "technical",
    "due_at": "2026-06-20T17:00:00Z",
    "overdue": False,
    "assigned_by": "approver-3",
    "assigned_at": "2026-06-10T08:00:00Z",
    "review_id": None,
}


class AssignmentOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [ASSIGNMENT_EXAMPLE]})

    id: uuid.UUID
    request_id: uuid.UUID
    reviewer: str
    role: ReviewerRole
    due_at: datetime
    overdue: bool = Field(description="due and no review submitted yet")
    assigned_by: str
    assigned_at: datetime
    review_id: uuid.UUID | None = Field(description="the review, once submitted")


class QueueItemOut(AssignmentOut):
    """An assignment in its reviewer's queue, with what the reviewer needs to pick it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                ASSIGNMENT_EXAMPLE
                | {
                    "request_title": "Digital infrastructure and resilience assessment",
                    "country_iso3": "RWA",
                    "request_status": "under_review",
                    "call_id": "3f1c8a52-6d0e-4b7a-9c2f-1e5d7a9b3c40",
                }
            ]
        }
    )

    request_title: str
    country_iso3: str
    request_status: Status
    call_id: uuid.UUID


class ReviewIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scores": {"relevance": 4, "feasibility": 3},
                    "recommendation": "yes",
                    "comments": "Clear needs; the timeline is tight.",
                }
            ]
        }
    )

    scores: dict[CriterionCode, Score] = Field(
        max_length=30,
        description="one score per criterion of the call's form, on its scale",
        # A key outside the code pattern is refused: say so, or JSON Schema's
        # patternProperties let any other key through with any value.
        json_schema_extra={"additionalProperties": False},
    )
    recommendation: Recommendation
    comments: NoNulStr = Field("", max_length=20_000)


class ReviewAmendment(ReviewIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "scores": {"relevance": 4, "feasibility": 4},
                    "recommendation": "yes",
                    "comments": "Clear needs; the revised timeline is realistic.",
                    "note": "Feasibility raised after the ministry's revised work plan.",
                }
            ]
        }
    )

    note: NoNulStr = Field(
        min_length=1, max_length=5000, description="why the review changes; kept in its history"
    )


REVIEW_EXAMPLE: JsonDict = {
    "id": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
    "request_id": "0c9e2f4a-7b1d-4e3a-9f5c-2d8b6a1e4f70",
    "assignment_id": "a4e2b7c1-5d3f-4e8a-9b6c-0d1e2f3a4b5c",
    "reviewer": "reviewer-42",
    "role": "technical",
    "scores": {"relevance": 4, "feasibility": 3},
    "overall": 73.33,
    "recommendation": "yes",
    "comments": "Clear needs; the timeline is tight.",
    "revision": 1,
    "submitted_at": "2026-06-12T10:00:00Z",
    "amended_at": None,
}


class ReviewOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [REVIEW_EXAMPLE]})

    id: uuid.UUID
    request_id: uuid.UUID
    assignment_id: uuid.UUID
    reviewer: str
    role: ReviewerRole
    scores: dict[str, int]
    overall: float = Field(description="this review's weighted score, 0-100")
    recommendation: Recommendation
    comments: str
    revision: int = Field(description="1 as submitted, one more per amendment")
    submitted_at: datetime
    amended_at: datetime | None


class RevisionOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "revision": 2,
                    "scores": {"relevance": 5, "feasibility": 3},
                    "recommendation": "yes",
                    "comments": "Clear needs.",
                    "note": "read the annexed letter",
                    "recorded_by": "reviewer-42",
                    "recorded_at": "2026-06-13T10:00:00Z",
                }
            ]
        },
    )

    revision: int
    scores: dict[str, int]
    recommendation: Recommendation
    comments: str
    note: str | None = Field(description="why it was amended; none on the first revision")
    recorded_by: str
    recorded_at: datetime


class CriterionAggregateOut(BaseModel):
    code: str
    label: str
    weight: float
    mean: float | None = Field(description="mean score on the criterion's scale")
    lowest: int | None
    highest: int | None


class RecommendationCounts(BaseModel):
    yes: int
    maybe: int
    no: int


class AggregateOut(BaseModel):
    reviews: int
    overall: float | None = Field(description="weighted mean of the criteria, 0-100")
    criteria: list[CriterionAggregateOut]
    recommendations: RecommendationCounts


class ReviewBoardOut(BaseModel):
    """A request's reviews and their aggregate, with what approval still needs."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "0c9e2f4a-7b1d-4e3a-9f5c-2d8b6a1e4f70",
                    "reviews_required": 2,
                    "reviews_submitted": 1,
                    "reviews_missing": 1,
                    "aggregate": {
                        "reviews": 1,
                        "overall": 73.33,
                        "criteria": [
                            {
                                "code": "relevance",
                                "label": "Relevance to C2R",
                                "weight": 2.0,
                                "mean": 4.0,
                                "lowest": 4,
                                "highest": 4,
                            }
                        ],
                        "recommendations": {"yes": 1, "maybe": 0, "no": 0},
                    },
                    "reviews": [REVIEW_EXAMPLE],
                }
            ]
        }
    )

    request_id: uuid.UUID
    reviews_required: int
    reviews_submitted: int
    reviews_missing: int = Field(description="reviews still needed before approval")
    aggregate: AggregateOut
    reviews: list[ReviewOut]
