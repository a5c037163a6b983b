import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from school_monitor.status.classification import AlertKind


class AlertOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": ("fccb9274-79f8-4670-a24c-5e0c9261e795"),
                    "school_id": ("1ffe2ca8-66d5-481f-bf59-6749d51d3e4d"),
                    "country_iso3": "RWA",
                    "kind": "fell_below_benchmark",
                    "previous": "good",
                    "current": "moderate",
                    "created_at": "2026-12-02T08:07:50.074196Z",
                }
            ]
        },
    )

    id: uuid.UUID
    school_id: uuid.UUID
    country_iso3: str
    kind: AlertKind
    previous: str
    current: str
    created_at: datetime
