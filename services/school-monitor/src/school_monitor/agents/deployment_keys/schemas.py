import uuid
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, field_validator

from c2r_common.schemas import CountryIso3
from school_monitor.agents.deployment_keys.keys import imported_key_problem


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

    name: str = Field(min_length=1, max_length=200, description="what the key is for")
    countries: list[CountryIso3] = Field(
        min_length=1, max_length=50, description="the countries whose schools may use it"
    )
    expires_at: AwareDatetime | None = Field(
        None, description="when the key stops working; none: until revoked"
    )
    key: SecretStr | None = Field(
        None,
        description="the key an existing agent build already carries, to accept that build "
        "unchanged (at least 32 characters); omit it to have a new key generated",
    )

    @field_validator("key")
    @classmethod
    def _usable_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            problem = imported_key_problem(value.get_secret_value())
            if problem is not None:
                raise ValueError(problem)
        return value


class DeploymentKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    countries: list[str]
    key_hint: str = Field(description="the key's first characters, to tell keys apart")
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class DeploymentKeyCreated(DeploymentKeyOut):
    key: str = Field(description="the key: shown this once, stored only as a hash")
