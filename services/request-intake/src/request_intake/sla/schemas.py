import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from request_intake.sla.clocks import ClockState, Target


class OverdueSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-06-10T08:00:00Z",
                    "total": 2,
                    "by_stage": {
                        "info_requested": 0,
                        "resubmitted": 0,
                        "screening": 1,
                        "submitted": 0,
                        "under_review": 1,
                    },
                    "overdue_reviews": 1,
                }
            ]
        }
    )

    as_of: datetime
    total: int
    by_stage: dict[str, int] = Field(description="overdue requests per workflow stage")
    overdue_reviews: int = Field(
        0,
        description="review assignments past their due date with no review submitted, "
        "on undecided requests the caller may see",
    )


class ReminderKind(StrEnum):
    CALL_CLOSING = "call_closing"
    SLA_DUE = "sla_due"
    REVIEW_DUE = "review_due"  # the caller's own review assignment, not yet submitted


class ReminderOut(BaseModel):
    kind: ReminderKind
    due_at: datetime
    due_at_local: datetime = Field(
        description="the same instant in the zone of the call (closing) or the SLA calendar"
    )
    title: str
    call_id: uuid.UUID
    request_id: uuid.UUID | None = None
    country_iso3: str | None = None
    stage: str | None = Field(
        None,
        description="the workflow stage whose SLA falls due; for review_due, the request's "
        "current stage",
    )
    assignment_id: uuid.UUID | None = Field(
        None, description="review_due: the caller's review assignment"
    )


class ReminderList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-06-10T08:00:00Z",
                    "until": "2026-06-17T08:00:00Z",
                    "items": [
                        {
                            "kind": "sla_due",
                            "due_at": "2026-06-12T15:00:00Z",
                            "due_at_local": "2026-06-12T17:00:00+02:00",
                            "title": ("Digital infrastructure and resilience assessment"),
                            "call_id": ("27ae6a4c-d508-44c3-9cf8-80d1bb52fcfa"),
                            "request_id": ("3112d2f3-1839-44f7-9cf8-3959c3607f5f"),
                            "country_iso3": "ZWE",
                            "stage": "screening",
                        },
                        {
                            "kind": "call_closing",
                            "due_at": "2026-06-15T21:59:59Z",
                            "due_at_local": "2026-06-15T23:59:59+02:00",
                            "title": (
                                "Connect2Recover technical assistance for African Member States"
                            ),
                            "call_id": ("27ae6a4c-d508-44c3-9cf8-80d1bb52fcfa"),
                            "request_id": None,
                            "country_iso3": None,
                            "stage": None,
                        },
                    ],
                }
            ]
        }
    )

    as_of: datetime
    until: datetime
    items: list[ReminderOut] = Field(description="soonest first")


_CLOCK_EXAMPLE: dict[str, Any] = {
    "target": "resolution",
    "stage": None,
    "state": "running",
    "started_at": "2026-06-10T08:00:00Z",
    "due_at": "2026-09-03T22:00:00Z",
    "due_at_local": "2026-09-04T00:00:00+02:00",
    "warn_at": "2026-08-19T10:00:00Z",
    "paused_at": None,
    "paused_business_seconds": 172800.0,
    "stopped_at": None,
}


class SlaClockOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_CLOCK_EXAMPLE]})

    target: Target = Field(description="first_response, resolution, or one stage's")
    stage: str | None = Field(description="the stage of a stage clock")
    state: ClockState
    started_at: datetime
    due_at: datetime = Field(description="UTC; moved later by the time paused")
    due_at_local: datetime = Field(description="the due date in the calendar's own zone")
    warn_at: datetime = Field(description="when the warning share of the time is left")
    paused_at: datetime | None = Field(description="set while waiting for the Member State")
    paused_business_seconds: float = Field(description="business time paused so far")
    stopped_at: datetime | None


class RequestSla(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "3f1c2a9e-8d4b-4f6a-9c2e-1b7d5e0a4c11",
                    "as_of": "2026-06-24T08:00:00Z",
                    "calendar": "itu-geneva",
                    "time_zone": "Europe/Zurich",
                    "clocks": [_CLOCK_EXAMPLE],
                }
            ]
        }
    )

    request_id: uuid.UUID
    as_of: datetime
    calendar: str = Field(description="the organisation calendar the clocks count on")
    time_zone: str = Field(description="that calendar's zone (of the due_at_local fields)")
    clocks: list[SlaClockOut] = Field(description="in the order they started")


class SlaWarningOut(BaseModel):
    request_id: uuid.UUID
    title: str
    call_id: uuid.UUID
    country_iso3: str
    target: Target
    stage: str | None
    state: ClockState = Field(description="warning, or breached when past due")
    due_at: datetime
    due_at_local: datetime = Field(description="in the calendar's own zone")
    business_seconds_left: float = Field(description="negative once past due")


class SlaWarningList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-06-16T08:00:00Z",
                    "items": [
                        {
                            "request_id": "3f1c2a9e-8d4b-4f6a-9c2e-1b7d5e0a4c11",
                            "title": "Digital infrastructure and resilience assessment",
                            "call_id": "9a0e5b9c-2c51-4a8e-8f0e-5d3f1c7b2a66",
                            "country_iso3": "RWA",
                            "target": "first_response",
                            "stage": None,
                            "state": "warning",
                            "due_at": "2026-06-17T22:00:00Z",
                            "due_at_local": "2026-06-18T00:00:00+02:00",
                            "business_seconds_left": 122400.0,
                        }
                    ],
                }
            ]
        }
    )

    as_of: datetime
    items: list[SlaWarningOut] = Field(description="soonest due first")
