from datetime import date

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from c2r_common.notifications.settings import NotifyingSettings
from c2r_common.settings import load_settings
from request_intake.calls.rules import zone
from request_intake.holiday_calendars import check_holiday_region

# Business days to handle a request in each stage; stages absent here carry no SLA.
DEFAULT_SLA_TARGETS = {
    "submitted": 5,  # acknowledge: move to screening
    "resubmitted": 5,  # acknowledge the completed information
    "screening": 10,
    "info_requested": 20,  # the Member State's answer
    "under_review": 30,  # decide
}


DEFAULT_SLA_CALENDAR = "itu-geneva"


def check_weekend(value: list[int]) -> list[int]:
    if any(day not in range(7) for day in value) or len(set(value)) >= 7:
        raise ValueError("weekend days are 0..6 and must leave at least one working day")
    return value


class SlaCalendarSettings(BaseModel):
    """An organisation's working calendar: the public holidays of a country (and
    subdivision) from the `holidays` package, its weekend and its own closure days."""

    country: str = Field("CH", description="ISO 3166-1 alpha-2 code of the holiday data")
    subdivision: str | None = Field("GE", description="the holiday data's subdivision")
    time_zone: str = Field("Europe/Zurich", description="IANA zone whose days count")
    weekend_days: list[int] = Field([5, 6], description="weekdays off, Monday=0")
    closures: list[date] = Field(default_factory=list, description="the office's days off")


class IntakeSettings(NotifyingSettings):
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
    holidays: list[date] = Field(
        default_factory=list,
        description="closure days of the default calendar, besides its public holidays",
    )
    sla_holiday_country: str = Field(
        "CH", description="country (ISO alpha-2) of the default calendar's public holidays"
    )
    sla_holiday_subdivision: str | None = Field(
        "GE", description="subdivision of those holidays (GE: canton of Geneva; none: national)"
    )
    sla_default_calendar: str = Field(
        DEFAULT_SLA_CALENDAR, description="name of the calendar built from the settings above"
    )
    sla_calendars: dict[str, SlaCalendarSettings] = Field(
        default_factory=dict,
        description="other organisations' calendars by name, chosen per call (sla_calendar)",
    )
    sla_first_response_days: int = Field(
        5, ge=1, description="business days from submission to ITU's first move"
    )
    sla_resolution_days: int = Field(
        60,
        ge=1,
        description="business days from submission to the decision, paused while "
        "information is requested",
    )
    sla_warning_share: float = Field(
        0.25, ge=0, lt=1, description="warn when this share of a clock's time is left"
    )
    notify_scan_enabled: bool = Field(
        True, description="look periodically for SLA clocks and calls worth an event"
    )
    notify_scan_seconds: float = Field(
        60.0, gt=0, description="pause between scans for SLA and call events"
    )
    notify_sla_due_days: int = Field(
        0,
        ge=0,
        le=365,
        description="an SLA clock is due soon also when at most this many business days "
        "are left (0: only at sla_warning_share of its time left)",
    )
    notify_call_closing_days: int = Field(
        7, ge=1, le=365, description="an open call is closing this many days before its deadline"
    )
    reminder_window_days: int = Field(7, ge=1, le=365, description="default reminder horizon")
    sla_metrics_enabled: bool = Field(True, description="refresh the overdue gauge periodically")
    outbox_relay_enabled: bool = Field(
        True,
        description="hand approved assessments to assessment-api (the notification "
        "dispatcher's service sender, at its pace: notify_relay_interval_seconds)",
    )
    outbox_backoff_base_seconds: float = Field(
        2.0, gt=0, description="first retry delay of a hand-off"
    )
    outbox_backoff_max_seconds: float = Field(
        300.0, gt=0, description="largest retry delay of a hand-off (retried for ever)"
    )

    @field_validator("weekend_days")
    @classmethod
    def _some_working_days(cls, value: list[int]) -> list[int]:
        return check_weekend(value)

    @field_validator("sla_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("sla_calendars")
    @classmethod
    def _valid_calendars(
        cls, value: dict[str, SlaCalendarSettings]
    ) -> dict[str, SlaCalendarSettings]:
        for calendar in value.values():
            check_weekend(calendar.weekend_days)
            zone(calendar.time_zone)
            check_holiday_region(calendar.country, calendar.subdivision)
        return value

    @model_validator(mode="after")
    def _known_default_region(self) -> "IntakeSettings":
        check_holiday_region(self.sla_holiday_country, self.sla_holiday_subdivision)
        if self.sla_default_calendar in self.sla_calendars:
            raise ValueError("sla_calendars must not redefine the default calendar's name")
        return self

    @field_validator("sla_targets")
    @classmethod
    def _positive_targets(cls, value: dict[str, int]) -> dict[str, int]:
        if any(days < 1 for days in value.values()):
            raise ValueError("SLA targets are at least one business day")
        return value


def get_settings() -> IntakeSettings:
    return load_settings(IntakeSettings)
