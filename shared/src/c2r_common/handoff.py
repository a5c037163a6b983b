"""The hand-off of an approved assessment request from request-intake to assessment-api:
the body request-intake's outbox stores and its relay sends to `POST /v1/assessments`, and
the two answers the relay reads back. One model on both sides of the outbox, so that what
is written is what is sent and what is read is checked; independent of how the outbox
stores it (a JSON column today)."""

import uuid

from pydantic import BaseModel, ConfigDict, Field

from c2r_common.fields import NoNulStr, Period
from c2r_common.schemas import CountryIso3

ASSESSMENTS_PATH = "/v1/assessments"


class AssessmentHandoff(BaseModel):
    """What assessment-api is asked to create (a subset of its `AssessmentCreate`)."""

    # Stored entries are read back through this model: an unknown field is an error there,
    # not something silently dropped before sending.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "country_iso3": "RWA",
                    "period": "2026",
                    "title": "Digital infrastructure and resilience assessment",
                    "source_request_id": "1f0c6a4e-8f5b-4d49-9a57-3c2f0b1d2e3f",
                }
            ]
        },
    )

    country_iso3: CountryIso3
    period: Period = Field(description="the year of the approval")
    title: NoNulStr = Field(min_length=1, max_length=300)
    source_request_id: uuid.UUID = Field(description="the request the assessment answers")


class AssessmentCreated(BaseModel):
    """The part of a 201 (or a replayed 200) the relay needs: the new assessment's id."""

    model_config = ConfigDict(extra="ignore")

    id: uuid.UUID


class AssessmentExists(BaseModel):
    """The part of a 409 problem that names the assessment already there for the same
    country and period; a 409 without it is an Idempotency-Key still being processed."""

    model_config = ConfigDict(extra="ignore")

    existing_assessment_id: uuid.UUID
