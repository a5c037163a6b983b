import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from request_intake.outbox.service import (
    CREATE_ASSESSMENT,
    Entry,
    EntryStatus,
    entry_status,
    idempotency_key,
)


class OutboxEntryOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": ("5d1f7a2c-0b3e-4c8a-9e61-2f4b8d0c7a15"),
                    "kind": "assessment.create",
                    "request_id": ("1f0c6a4e-8f5b-4d49-9a57-3c2f0b1d2e3f"),
                    "payload": {
                        "country_iso3": "ZWE",
                        "period": "2026",
                        "title": ("Zimbabwe digital infrastructure and resilience assessment"),
                        "source_request_id": ("1f0c6a4e-8f5b-4d49-9a57-3c2f0b1d2e3f"),
                    },
                    "idempotency_key": ("c2r-outbox-5d1f7a2c-0b3e-4c8a-9e61-2f4b8d0c7a15"),
                    "status": "delivered",
                    "attempts": 2,
                    "next_attempt_at": "2026-06-10T08:00:30Z",
                    "last_attempt_at": "2026-06-10T08:00:30Z",
                    "last_error": None,
                    "delivered_at": "2026-06-10T08:00:30Z",
                    "result_id": ("8c8e830b-c7f7-4499-b3f0-00583e904240"),
                    "created_at": "2026-06-10T08:00:00Z",
                }
            ]
        },
    )

    id: uuid.UUID
    kind: str
    request_id: uuid.UUID
    payload: dict[str, Any]
    idempotency_key: str
    status: EntryStatus
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_error: str | None = Field(description="why the last attempt did not deliver")
    delivered_at: datetime | None
    result_id: str | None = Field(description="the assessment created in assessment-api")
    created_at: datetime

    @classmethod
    def of(cls, entry: Entry) -> "OutboxEntryOut":
        delivery, event = entry.delivery, entry.event
        status = entry_status(delivery.status)
        delivered = status is EntryStatus.DELIVERED and entry.linked is not None
        return cls(
            id=event.id,
            kind=CREATE_ASSESSMENT,
            request_id=entry.request_id,
            payload=event.data,
            idempotency_key=idempotency_key(event.id),
            status=status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_attempt_at=delivery.last_attempt_at,
            last_error=delivery.last_error,
            delivered_at=delivery.delivered_at,
            result_id=str(entry.linked) if delivered else None,
            created_at=delivery.created_at,
        )


class OutboxSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"pending": 0, "delivered": 0, "failed": 0, "oldest_pending_at": None}]
        }
    )

    pending: int = Field(description="the backlog still to deliver")
    delivered: int
    failed: int = Field(description="refused for good by the receiver; see last_error")
    oldest_pending_at: datetime | None
