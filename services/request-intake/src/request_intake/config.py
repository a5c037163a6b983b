from datetime import date

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from c2r_common.settings import ServiceSettings, load_settings
from request_intake.calls.rules import zone

# Business days to handle a request in each stage; stages absent here carry no SLA.
DEFAULT_SLA_TARGETS = {
    "submitted": 5,  # acknowledge: move to screening
    "resubmitted": 5,  # acknowledge the completed information
    "screening": 10,
    "info_requested": 20,  # the Member State's answer
    "under_review": 30,  # decide
}


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="C2R_INTAKE_", extra="ignore", frozen=True)

    database_url: str = Field(
        "sqlite+aiosqlite:///./data/request-intake.db", description="the service's own database"
    )
    assessment_api_url: str = Field(
        "http://127.0.0.1:8000", description="base URL of assessment-api (or the gateway)"
    )
    school_monitor_url: str = Field(
        "http://127.0.0.1:8000", description="base URL of school-monitor (or the gateway)"
    )
    school_monitor_token: SecretStr | None = Field(
        None, description="static token for school-monitor (schools:read); minted when unset"
    )
    evidence_timeout_seconds: float = Field(
        3.0,
        gt=0,
        le=60,
        description="time budget of each part of an evidence pack, retries included",
    )
    assessment_api_token: SecretStr | None = Field(
        None,
        description="a static token for assessment-api; without it, tokens come from the "
        "identity provider (oauth_* settings) or are minted with the shared JWT secret",
    )
    sla_targets: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_SLA_TARGETS),
        description="business days allowed per workflow stage",
    )
    sla_time_zone: str = Field(
        "Europe/Geneva", description="time zone whose days the SLA calendar counts (IANA name)"
    )
    weekend_days: list[int] = Field(
        [5, 6], description="ISO weekdays off, Monday=0 (default Saturday and Sunday)"
    )
    holidays: list[date] = Field(default_factory=list, description="days off of the calendar")
    reminder_window_days: int = Field(7, ge=1, le=365, description="default reminder horizon")
    sla_metrics_enabled: bool = Field(True, description="refresh the overdue gauge periodically")
    outbox_relay_enabled: bool = Field(True, description="run the outbox relay in the background")
    outbox_poll_seconds: float = Field(2.0, gt=0, description="pause between relay passes")
    outbox_batch_size: int = Field(20, ge=1, le=500, description="entries per relay pass")
    outbox_backoff_base_seconds: float = Field(2.0, gt=0, description="first retry delay")
    outbox_backoff_max_seconds: float = Field(300.0, gt=0, description="largest retry delay")

    @field_validator("weekend_days")
    @classmethod
    def _some_working_days(cls, value: list[int]) -> list[int]:
        if any(day not in range(7) for day in value) or len(set(value)) >= 7:
            raise ValueError("weekend days are 0..6 and must leave at least one working day")
        return value

    @field_validator("sla_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("sla_targets")
    @classmethod
    def _positive_targets(cls, value: dict[str, int]) -> dict[str, int]:
        if any(days < 1 for days in value.values()):
            raise ValueError("SLA targets are at least one business day")
        return value


def get_settings() -> IntakeSettings:
    return load_settings(IntakeSettings)
