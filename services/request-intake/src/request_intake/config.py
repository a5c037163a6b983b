from pydantic import Field
from pydantic_settings import SettingsConfigDict

from c2r_common.settings import ServiceSettings, load_settings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="C2R_INTAKE_", extra="ignore", frozen=True)

    database_url: str = Field(
        "sqlite+aiosqlite:///./data/request-intake.db", description="the service's own database"
    )
    assessment_api_url: str = Field(
        "http://127.0.0.1:8000", description="base URL of assessment-api (or the gateway)"
    )


def get_settings() -> IntakeSettings:
    return load_settings(IntakeSettings)
