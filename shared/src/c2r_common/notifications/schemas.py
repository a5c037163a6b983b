"""The subscriptions API's bodies."""

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, model_validator

from c2r_common.fields import NoNulStr

Language = Literal["en", "fr"]
Iso3 = Annotated[str, StringConstraints(pattern="^[A-Za-z]{3}$")]
_EXAMPLE_ID = "0b9f5c1e-6a0e-4c59-8f0e-2d7f2a6f4a10"
_EXAMPLE_TIME = "2026-06-10T08:00:00Z"
_EXAMPLE_OUT: dict[str, JsonValue] = {
    "id": _EXAMPLE_ID,
    "webhook_url": "https://dashboard.example.org/hooks/c2r",
    "email": None,
    "language": "en",
    "event_types": ["org.itu.c2r.school.offline", "org.itu.c2r.area.outage"],
    "countries": ["RWA"],
    "digest": False,
    "status": "active",
    "paused_reason": None,
    "consecutive_failures": 0,
    "created_at": _EXAMPLE_TIME,
    "updated_at": _EXAMPLE_TIME,
}


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "webhook_url": "https://dashboard.example.org/hooks/c2r",
                    "email": "integrations@example.org",
                    "event_types": ["org.itu.c2r.school.offline", "org.itu.c2r.area.outage"],
                    "countries": ["RWA"],
                },
                {
                    "email": "ops@example.org",
                    "language": "fr",
                    "event_types": ["org.itu.c2r.area.outage"],
                    "digest": True,
                },
            ]
        }
    )

    webhook_url: NoNulStr | None = Field(
        None, max_length=2000, description="http(s) URL the events are POSTed to, signed"
    )
    email: str | None = Field(
        None,
        max_length=320,
        pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$",
        description="mailbox the events are sent to; with webhook_url, the mailbox told "
        "when the webhook keeps failing and is paused (the events still go to the webhook)",
    )
    language: Language = Field("en", description="language of the mails")
    event_types: list[NoNulStr] = Field(min_length=1, max_length=50)
    countries: list[Iso3] | None = Field(
        None,
        max_length=300,
        description="ISO alpha-3 codes; null: every country the token may see",
    )
    digest: bool = Field(
        False, description="e-mail only: one mail a day with the day's events, not one each"
    )

    @model_validator(mode="after")
    def _channels(self) -> Self:
        if self.webhook_url is None and self.email is None:
            raise ValueError("give webhook_url, email, or both")
        if self.digest and (self.email is None or self.webhook_url is not None):
            raise ValueError("digest is for e-mail subscriptions")
        return self


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [_EXAMPLE_OUT]})

    id: uuid.UUID
    webhook_url: str | None = None
    email: str | None = None
    language: str
    event_types: list[str]
    countries: list[str] | None
    digest: bool
    status: Literal["active", "paused"]
    paused_reason: str | None = None
    consecutive_failures: int = Field(description="failed attempts since the last success")
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [_EXAMPLE_OUT | {"secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]
        }
    )

    secret: str | None = Field(
        description="the webhook signing secret (Standard Webhooks): shown this once; null "
        "for e-mail"
    )


class DeliveryOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 41,
                    "event_id": "5d3c8a3e-8f1b-5c7e-9a4f-0e6b2d1c3a77",
                    "event_type": "org.itu.c2r.school.offline",
                    "subject": "schools/1f0c6a52-3b5e-4a43-9c4f-8a8b1d7e2c11",
                    "status": "pending",
                    "attempts": 3,
                    "next_attempt_at": _EXAMPLE_TIME,
                    "last_attempt_at": "2026-06-10T07:59:20Z",
                    "last_status_code": 503,
                    "last_latency_ms": 84.2,
                    "last_error": "HTTP 503: Service Unavailable",
                    "delivered_at": None,
                    "created_at": "2026-06-10T07:58:00Z",
                }
            ]
        },
    )

    id: int
    event_id: uuid.UUID = Field(description="the CloudEvent id, sent as webhook-id")
    event_type: str
    subject: str
    status: Literal["pending", "digest", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_latency_ms: float | None = None
    last_error: str | None = None
    delivered_at: datetime | None = None
    created_at: datetime
