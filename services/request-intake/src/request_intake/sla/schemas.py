import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class OverdueSummary(BaseModel):
    as_of: datetime
    total: int
    by_stage: dict[str, int] = Field(description="overdue requests per workflow stage")


class ReminderKind(StrEnum):
    CALL_CLOSING = "call_closing"
    SLA_DUE = "sla_due"


class ReminderOut(BaseModel):
    kind: ReminderKind
    due_at: datetime
    title: str
    call_id: uuid.UUID
    request_id: uuid.UUID | None = None
    country_iso3: str | None = None
    stage: str | None = Field(None, description="the workflow stage whose SLA falls due")


class ReminderList(BaseModel):
    as_of: datetime
    until: datetime
    items: list[ReminderOut] = Field(description="soonest first")
