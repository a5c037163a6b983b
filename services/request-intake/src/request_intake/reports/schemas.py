import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class CountRow(BaseModel):
    key: str = Field(description="the value counted: a call id, status, region or type")
    label: str = Field(description="a readable name for the key")
    count: int


class RequestReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-12-02T08:07:51.719797Z",
                    "call_id": None,
                    "total": 1,
                    "by_call": [
                        {
                            "key": ("cc028985-9916-412b-8ff9-799cf8228c60"),
                            "label": (
                                "Connect2Recover technical assistance for African Member States"
                            ),
                            "count": 1,
                        }
                    ],
                    "by_status": [{"key": "screening", "label": "screening", "count": 1}],
                    "by_region": [{"key": "Africa", "label": "Africa", "count": 1}],
                    "by_assistance_type": [
                        {"key": "assessment", "label": "assessment", "count": 1}
                    ],
                    "by_country": [{"key": "RWA", "label": "Rwanda", "count": 1}],
                }
            ]
        }
    )

    as_of: datetime
    call_id: uuid.UUID | None = Field(None, description="the call the report is limited to")
    total: int
    by_call: list[CountRow]
    by_status: list[CountRow]
    by_region: list[CountRow] = Field(description="ITU-D region of the requesting country")
    by_assistance_type: list[CountRow]
    by_country: list[CountRow]


class SlaReportRow(BaseModel):
    target: str = Field(description="first_response, resolution or stage")
    stage: str | None = Field(description="the stage of a stage SLA")
    call_id: uuid.UUID
    call_title: str
    quarter: str = Field(description="quarter of the due date in the calendar's zone, 2026-Q2")
    met: int = Field(description="stopped at or before the due date")
    missed: int = Field(description="stopped after it, or running past it")
    open: int = Field(description="running or paused, not yet due")


class SlaReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "as_of": "2026-07-01T08:00:00Z",
                    "call_id": None,
                    "rows": [
                        {
                            "target": "stage",
                            "stage": "screening",
                            "call_id": "9a0e5b9c-2c51-4a8e-8f0e-5d3f1c7b2a66",
                            "call_title": "C2R technical assistance for African Member States",
                            "quarter": "2026-Q2",
                            "met": 11,
                            "missed": 2,
                            "open": 3,
                        }
                    ],
                }
            ]
        }
    )

    as_of: datetime
    call_id: uuid.UUID | None = Field(None, description="the call the report is limited to")
    rows: list[SlaReportRow] = Field(description="by quarter, call, target and stage")
