import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from school_monitor.status.classification import AlertKind


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    school_id: uuid.UUID
    country_iso3: str
    kind: AlertKind
    previous: str
    current: str
    created_at: datetime
