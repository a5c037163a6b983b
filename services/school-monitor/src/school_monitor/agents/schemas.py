import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from c2r_common.fields import NoNulStr


class AgentIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "school_id": "1f0c6a52-3b5e-4a43-9c4f-8a8b1d7e2c11",
                    "hardware_id": "9C-B6-D0-12-34-56",
                    "name": "Computer lab PC 1",
                    "app_version": "4.1.2",
                }
            ]
        }
    )

    school_id: uuid.UUID
    hardware_id: NoNulStr = Field(
        min_length=1, max_length=200, description="the device's own id (MAC, board serial)"
    )
    name: NoNulStr | None = Field(None, max_length=200)
    app_version: NoNulStr | None = Field(None, max_length=50)


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    school_id: uuid.UUID
    hardware_id: str
    name: str | None
    token_hint: str = Field(description="the token's first characters, to tell tokens apart")
    app_version: str | None
    created_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None
    deployment_key_id: uuid.UUID | None = Field(
        None, description="the deployment key it registered itself with (a Giga Meter agent)"
    )
    os: str | None = Field(None, description="the operating system it reported")


class AgentCreated(AgentOut):
    token: str = Field(description="the device token: shown this once, stored only as a hash")
