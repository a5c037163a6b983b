import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class CountRow(BaseModel):
    key: str = Field(description="the value counted: a call id, status, region or type")
    label: str = Field(description="a readable name for the key")
    count: int


class RequestReport(BaseModel):
    as_of: datetime
    call_id: uuid.UUID | None = Field(None, description="the call the report is limited to")
    total: int
    by_call: list[CountRow]
    by_status: list[CountRow]
    by_region: list[CountRow] = Field(description="ITU-D region of the requesting country")
    by_assistance_type: list[CountRow]
    by_country: list[CountRow]
