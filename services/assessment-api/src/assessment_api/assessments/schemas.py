import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from c2r_common.fields import NoNulStr, Period, PositiveInt32
from c2r_common.schemas import CountryIso3

LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


class AssessmentStatus(StrEnum):
    DRAFT = "draft"
    DATA_COLLECTION = "data_collection"
    VALIDATION = "validation"
    COMPLETED = "completed"
    ACCEPTED_BY_COUNTRY = "accepted_by_country"
    PUBLISHED = "published"


class TranslationStatus(StrEnum):
    REQUESTED = "requested"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class AssessmentCreate(BaseModel):
    """The body request-intake (and front-ends) send to open an assessment."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "country_iso3": "RWA",
                    "period": "2026",
                    "title": "Rwanda digital infrastructure and resilience assessment",
                    "source_request_id": "1f0c6a4e-8f5b-4d49-9a57-3c2f0b1d2e3f",
                }
            ]
        }
    )

    country_iso3: CountryIso3
    period: Period
    title: NoNulStr | None = Field(None, min_length=1, max_length=300)
    methodology_version: PositiveInt32 | None = Field(
        None, description="default: the latest published version"
    )
    source_request_id: uuid.UUID | None = Field(
        None, description="the request-intake request this assessment answers"
    )


class AssessmentUpdate(BaseModel):
    title: NoNulStr = Field(min_length=1, max_length=300)


class TransitionIn(BaseModel):
    to: AssessmentStatus
    note: NoNulStr | None = Field(None, max_length=2000)


class TranslationIn(BaseModel):
    status: TranslationStatus


class TranslationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    language: str = Field(examples=["ar"])
    status: TranslationStatus
    updated_by: str
    updated_at: datetime


class AssessmentOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": "6b1f3c2e-9d4a-4f7e-8a21-3c5d7e9f1a2b",
                    "country_iso3": "MRT",
                    "country_name": "Mauritania",
                    "period": "2025",
                    "title": "Mauritania 2025",
                    "methodology_version": 1,
                    "status": "data_collection",
                    "allowed_transitions": ["validation"],
                    "revision": 4,
                    "source_request_id": "0c9e2f4a-7b1d-4e3a-9f5c-2d8b6a1e4f70",
                    "translations": [
                        {
                            "language": "ar",
                            "status": "requested",
                            "updated_by": "bdt-staff-17",
                            "updated_at": "2025-03-02T09:15:00Z",
                        }
                    ],
                    "created_by": "bdt-staff-17",
                    "created_at": "2025-02-20T13:40:00Z",
                    "updated_at": "2025-03-02T09:15:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    country_iso3: str
    country_name: str
    period: str
    title: str
    methodology_version: int
    status: AssessmentStatus
    allowed_transitions: list[AssessmentStatus]
    revision: int = Field(description="the ETag of the assessment is this number, quoted")
    source_request_id: uuid.UUID | None
    rescored_from_id: uuid.UUID | None = Field(
        None,
        description="the assessment whose values this one re-scores under another "
        "methodology version (null: an original)",
    )
    translations: list[TranslationOut]
    created_by: str
    created_at: datetime
    updated_at: datetime


class AssessmentFilters(BaseModel):
    country_iso3: NoNulStr | None = Field(None, min_length=3, max_length=3)
    status: AssessmentStatus | None = None
    period: Period | None = None
    source_request_id: uuid.UUID | None = Field(
        None, description="the request-intake request an assessment was opened from"
    )


class AuditEventOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "at": "2026-12-02T08:07:49.183814Z",
                    "actor": "analyst@itu.int",
                    "action": "created",
                    "detail": {
                        "country_iso3": "NPL",
                        "period": "2026-H2",
                        "title": None,
                        "methodology_version": None,
                        "source_request_id": None,
                    },
                    "note": None,
                }
            ]
        },
    )

    id: int
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]
    note: str | None
