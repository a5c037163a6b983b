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
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": ("be63e905-a5b6-40e7-a80c-71ec2629b2bd"),
                    "school_id": ("1ffe2ca8-66d5-481f-bf59-6749d51d3e4d"),
                    "hardware_id": ("4C4C4544-47BC-8050-B4C0-C4C04F4E3332"),
                    "name": None,
                    "token_hint": "c2rdev_NPo2fk",
                    "app_version": "1.0.10",
                    "created_at": "2026-12-02T08:07:49.840037Z",
                    "last_seen_at": "2026-12-02T08:07:49.982906Z",
                    "revoked_at": None,
                    "deployment_key_id": ("1f87536f-b974-44c1-a711-6876e979d49a"),
                    "os": "windows",
                }
            ]
        },
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": ("370ade88-d8f0-478a-9bfb-7982272250c2"),
                    "school_id": ("1ffe2ca8-66d5-481f-bf59-6749d51d3e4d"),
                    "hardware_id": "9C-B6-D0-12-34-56",
                    "name": "Computer lab PC 1",
                    "token_hint": "c2rdev_81BjfO",
                    "app_version": "4.1.2",
                    "created_at": "2026-12-02T08:07:52.189784Z",
                    "last_seen_at": None,
                    "revoked_at": None,
                    "deployment_key_id": None,
                    "os": None,
                    "token": ("c2rdev_81BjfOnw_55OhINj-72JG6OnARXHyJfcMN4j4VGMiOY"),
                }
            ]
        }
    )

    token: str = Field(description="the device token: shown this once, stored only as a hash")
