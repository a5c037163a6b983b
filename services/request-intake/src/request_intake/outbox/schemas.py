import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from request_intake.outbox.service import EntryStatus


class OutboxEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

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


class OutboxSummary(BaseModel):
    pending: int = Field(description="the backlog still to deliver")
    delivered: int
    failed: int = Field(description="refused for good by the receiver; see last_error")
    oldest_pending_at: datetime | None
