import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from c2r_common.fields import JsonInteger, NoNulStr, Omittable
from c2r_common.schemas import AssistanceType, CountryIso3
from request_intake.assistance_requests.workflow import Role, Status


class EntityType(StrEnum):
    MINISTRY = "ministry"
    REGULATOR = "regulator"
    OTHER = "other"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


Outcome = Annotated[NoNulStr, Field(min_length=1, max_length=1000)]


class FocalPoint(BaseModel):
    name: NoNulStr = Field(min_length=1, max_length=200)
    email: str = Field(max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
    phone: NoNulStr | None = Field(None, max_length=40)
    position: NoNulStr | None = Field(None, max_length=200)


class Attachment(BaseModel):
    """Metadata of a document kept elsewhere (the service stores no files)."""

    filename: NoNulStr = Field(min_length=1, max_length=255)
    media_type: NoNulStr = Field("application/pdf", max_length=100)
    size_bytes: Annotated[int, Field(ge=0, le=1_000_000_000), JsonInteger]
    url: HttpUrl | None = None


class RequestIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "call_id": "00000000-0000-0000-0000-000000000000",
                    "country_iso3": "RWA",
                    "requesting_entity": "Ministry of ICT and Innovation",
                    "entity_type": "ministry",
                    "focal_point": {"name": "A. Uwase", "email": "focal@minict.gov.rw"},
                    "assistance_type": "assessment",
                    "title": "Digital infrastructure and resilience assessment",
                    "description": "Country assessment following the C2R methodology.",
                    "priority": "high",
                    "expected_outcomes": ["gap analysis", "recommendations"],
                    "attachments": [{"filename": "letter.pdf", "size_bytes": 120000}],
                }
            ]
        }
    )

    call_id: uuid.UUID
    country_iso3: CountryIso3 = Field(description="the requesting Member State")
    requesting_entity: NoNulStr = Field(min_length=1, max_length=300, examples=["Ministry of ICT"])
    entity_type: EntityType
    focal_point: FocalPoint
    assistance_type: AssistanceType
    title: NoNulStr = Field(min_length=1, max_length=300)
    description: NoNulStr = Field(min_length=1, max_length=20_000)
    priority: Priority = Priority.MEDIUM
    expected_outcomes: list[Outcome] = Field(default_factory=list, max_length=50)
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)


class RequestUpdate(BaseModel):
    """What a focal point may complete before review (fields left out keep their value)."""

    # A field that cannot be changed here (call, country, type) is refused, not ignored.
    model_config = ConfigDict(extra="forbid")

    focal_point: Omittable[FocalPoint] = None
    title: Omittable[NoNulStr] = Field(None, min_length=1, max_length=300)
    description: Omittable[NoNulStr] = Field(None, min_length=1, max_length=20_000)
    priority: Omittable[Priority] = None
    expected_outcomes: Omittable[list[Outcome]] = Field(None, max_length=50)
    attachments: Omittable[list[Attachment]] = Field(None, max_length=50)
    comment: NoNulStr = Field(min_length=1, max_length=5000, description="kept in the audit trail")


class RequestOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": ("1f0c76e0-b1a1-4408-9105-86ecd2e4bf41"),
                    "call_id": ("cc028985-9916-412b-8ff9-799cf8228c60"),
                    "country_iso3": "RWA",
                    "requesting_entity": ("Ministry of ICT and Innovation"),
                    "entity_type": "ministry",
                    "focal_point": {
                        "name": "A. Uwase",
                        "email": "focal@minict.gov.rw",
                        "phone": None,
                        "position": None,
                    },
                    "assistance_type": "assessment",
                    "title": ("Digital infrastructure and resilience assessment"),
                    "description": ("Country assessment following the C2R methodology."),
                    "priority": "medium",
                    "expected_outcomes": [],
                    "attachments": [],
                    "status": "submitted",
                    "late": False,
                    "submitted_by": "analyst@itu.int",
                    "submitted_at": "2026-12-02T08:07:49.473634Z",
                    "stage_entered_at": "2026-12-02T08:07:49.473634Z",
                    "stage_due_at": "2026-12-09T23:00:00Z",
                    "decided_at": None,
                    "assessment_id": None,
                    "version": 1,
                    "updated_at": "2026-12-02T08:07:49.487744Z",
                }
            ]
        },
    )

    id: uuid.UUID
    call_id: uuid.UUID
    country_iso3: str
    requesting_entity: str
    entity_type: EntityType
    focal_point: FocalPoint
    assistance_type: AssistanceType
    title: str
    description: str
    priority: Priority
    expected_outcomes: list[str]
    attachments: list[Attachment]
    status: Status
    late: bool = Field(description="submitted after the deadline, inside the grace period")
    submitted_by: str
    submitted_at: datetime
    stage_entered_at: datetime
    stage_due_at: datetime | None = Field(description="SLA due date of the current stage")
    decided_at: datetime | None
    assessment_id: uuid.UUID | None = Field(description="the assessment the request started")
    version: int = Field(description="also sent as the ETag")
    updated_at: datetime


class TransitionIn(BaseModel):
    to: Status = Field(description="the status to move the request to")
    comment: NoNulStr = Field(
        min_length=1, max_length=5000, description="why; kept in the audit trail"
    )


class EventOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "from_status": None,
                    "to_status": "submitted",
                    "role": "focal_point",
                    "actor": "analyst@itu.int",
                    "comment": "submitted",
                    "at": "2026-12-02T08:07:49.473634Z",
                }
            ]
        },
    )

    id: int
    from_status: Status | None
    to_status: Status
    role: Role
    actor: str
    comment: str
    at: datetime


class AllowedTransitionOut(BaseModel):
    to: Status
    role: Role
