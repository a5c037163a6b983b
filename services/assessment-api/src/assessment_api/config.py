from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from c2r_common.notifications.settings import NotifyingSettings
from c2r_common.settings import load_settings


class AssessmentSettings(NotifyingSettings):
    model_config = SettingsConfigDict(env_prefix="C2R_ASSESSMENT_", extra="ignore", frozen=True)

    database_url: str = Field(
        "sqlite+aiosqlite:///./data/assessment-api.db", description="the service's own database"
    )
    school_monitor_url: str = Field(
        "http://127.0.0.1:8000", description="base URL of school-monitor (or the gateway)"
    )
    school_monitor_timeout_seconds: float = Field(
        2.0, gt=0, description="time budget of one read from school-monitor, retries included"
    )
    school_monitor_token: SecretStr | None = Field(
        None,
        description="a static token for school-monitor; without it, tokens come from the "
        "identity provider (oauth_* settings) or are minted with the shared JWT secret",
    )
    school_monitor_retries: int = Field(
        1, ge=0, le=5, description="retries of a failed read from school-monitor within the budget"
    )


def get_settings() -> AssessmentSettings:
    return load_settings(AssessmentSettings)
