"""Due dates of workflow stages, in business days of the configured calendar."""

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from request_intake.business_days import BusinessCalendar, due_at
from request_intake.calls.rules import zone
from request_intake.config import IntakeSettings


@dataclass(frozen=True)
class SlaPolicy:
    targets: dict[str, int]
    calendar: BusinessCalendar
    zone: ZoneInfo

    @classmethod
    def from_settings(cls, settings: IntakeSettings) -> "SlaPolicy":
        return cls(
            targets=dict(settings.sla_targets),
            calendar=BusinessCalendar.of(settings.weekend_days, settings.holidays),
            zone=zone(settings.sla_time_zone),
        )

    @property
    def stages(self) -> list[str]:
        return sorted(self.targets)

    def due(self, stage: str, entered_at: datetime) -> datetime | None:
        """When a request entering `stage` at `entered_at` must leave it; None: no SLA."""
        days = self.targets.get(stage)
        if days is None:
            return None
        return due_at(self.calendar, entered_at, days, self.zone).astimezone(UTC)


def app_sla_policy(app: FastAPI) -> SlaPolicy:
    policy: SlaPolicy = app.state.sla_policy
    return policy
