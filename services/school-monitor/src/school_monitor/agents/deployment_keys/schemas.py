import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from c2r_common.fields import NoNulStr, UtcDatetime
from c2r_common.schemas import CountryIso3
from school_monitor.agents.deployment_keys.keys import (
    MAX_KEY_LENGTH,
    MIN_IMPORTED_KEY_LENGTH,
    imported_key_problem,
)


def _usable_key(value: str) -> str:
    problem = imported_key_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


ImportedKey = Annotated[
    str,
    StringConstraints(
        min_length=MIN_IMPORTED_KEY_LENGTH, max_length=MAX_KEY_LENGTH, pattern=r"^[!-~]+$"
    ),
    AfterValidator(_usable_key),
]


class DeploymentKeyIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Giga Meter build for the Rwanda pilot",
                    "countries": ["RWA"],
                    "expires_at": "2028-12-31T23:59:59Z",
                }
            ]
        },
    )

    name: NoNulStr = Field(min_length=1, max_length=200, description="what the key is for")
    countries: list[CountryIso3] = Field(
        min_length=1, max_length=50, description="the countries whose schools may use it"
    )
    expires_at: UtcDatetime | None = Field(
        None, description="when the key stops working; none: until revoked"
    )
    key: ImportedKey | None = Field(
        None,
        repr=False,
        description="the key an existing agent build already carries, to accept that build "
        "unchanged (32 to 500 printable ASCII characters, neither a JWT nor a device "
        "token); omit it to have a new key generated",
    )


class DeploymentKeyOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": ("1f87536f-b974-44c1-a711-6876e979d49a"),
                    "name": ("Giga Meter 2.0.2 build for the Rwanda pilot"),
                    "countries": ["RWA"],
                    "key_hint": "RYsb",
                    "created_by": "analyst@itu.int",
                    "created_at": "2026-12-02T08:07:49.752554Z",
                    "expires_at": None,
                    "revoked_at": None,
                }
            ]
        },
    )

    id: uuid.UUID
    name: str
    countries: list[str]
    key_hint: str = Field(description="the key's last four characters, to tell keys apart")
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class DeploymentKeyCreated(DeploymentKeyOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": ("1f87536f-b974-44c1-a711-6876e979d49a"),
                    "name": ("Giga Meter 2.0.2 build for the Rwanda pilot"),
                    "countries": ["RWA"],
                    "key_hint": "RYsb",
                    "created_by": "analyst@itu.int",
                    "created_at": "2026-12-02T08:07:49.752554Z",
                    "expires_at": None,
                    "revoked_at": None,
                    "key": ("giga-meter-build-4f9Qz7Xc2LmR8tVb1NwK6yHd"),
                }
            ]
        }
    )

    key: str = Field(description="the key: shown this once, stored only as a hash")
