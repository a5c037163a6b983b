"""Due dates of workflow stages and of a request's first response and resolution, in
business days of an organisation's calendar (public holidays, weekend, closure days)."""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from request_intake.business_days import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
    due_at,
)
from request_intake.calls.rules import zone
from request_intake.config import DEFAULT_SLA_CALENDAR, IntakeSettings, SlaCalendarSettings
from request_intake.holiday_calendars import public_holidays


@dataclass(frozen=True)
class NamedCalendar:
    calendar: BusinessCalendar
    zone: ZoneInfo


def _calendar(settings: SlaCalendarSettings) -> NamedCalendar:
    days_off = public_holidays(settings.country, settings.subdivision) | set(settings.closures)
    return NamedCalendar(
        BusinessCalendar.of(settings.weekend_days, days_off), zone(settings.time_zone)
    )


@dataclass(frozen=True)
class SlaPolicy:
    targets: dict[str, int]
    calendar: BusinessCalendar
    zone: ZoneInfo
    first_response_days: int = 5
    resolution_days: int = 60
    warning_share: float = 0.25
    calendar_name: str = DEFAULT_SLA_CALENDAR
    # Every calendar a call may name, the default one included.
    calendars: Mapping[str, NamedCalendar] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: IntakeSettings) -> "SlaPolicy":
        default = _calendar(
            SlaCalendarSettings(
                country=settings.sla_holiday_country,
                subdivision=settings.sla_holiday_subdivision,
                time_zone=settings.sla_time_zone,
                weekend_days=settings.weekend_days,
                closures=settings.holidays,
            )
        )
        others = {name: _calendar(c) for name, c in settings.sla_calendars.items()}
        return cls(
            targets=dict(settings.sla_targets),
            calendar=default.calendar,
            zone=default.zone,
            first_response_days=settings.sla_first_response_days,
            resolution_days=settings.sla_resolution_days,
            warning_share=settings.sla_warning_share,
            calendar_name=settings.sla_default_calendar,
            calendars={settings.sla_default_calendar: default, **others},
        )

    @property
    def stages(self) -> list[str]:
        return sorted(self.targets)

    @property
    def calendar_names(self) -> list[str]:
        return sorted(self.calendars) or [self.calendar_name]

    def for_calendar(self, name: str | None) -> "SlaPolicy":
        """The same targets on the calendar `name` (None or unknown: this policy's own,
        so a calendar removed from the settings leaves its calls on the default)."""
        chosen = self.calendars.get(name) if name is not None else None
        if name is None or chosen is None:
            return self
        return replace(self, calendar=chosen.calendar, zone=chosen.zone, calendar_name=name)

    def due(self, stage: str, entered_at: datetime) -> datetime | None:
        """When a request entering `stage` at `entered_at` must leave it; None: no SLA."""
        days = self.targets.get(stage)
        if days is None:
            return None
        return self.due_after(entered_at, days)

    def due_after(self, start: datetime, days: int) -> datetime:
        """The end of the `days`-th business day after `start`, in UTC."""
        return due_at(self.calendar, start, days, self.zone).astimezone(UTC)

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        return business_time_between(self.calendar, self.zone, start, end)

    def shifted(self, moment: datetime, amount: timedelta) -> datetime:
        """`moment` moved later by `amount` of business time (a paused clock's due date)."""
        return add_business_time(self.calendar, self.zone, moment, amount)

    def warn_at(self, start: datetime, due: datetime) -> datetime:
        """When only `warning_share` of the business time from `start` to `due` is left."""
        allowed = self.business_time(start, due)
        return self.shifted(start, allowed * (1 - self.warning_share))

    def local(self, moment: datetime) -> datetime:
        """`moment` in the calendar's own zone (what people at the office read)."""
        return moment.astimezone(self.zone)


def app_sla_policy(app: FastAPI) -> SlaPolicy:
    policy: SlaPolicy = app.state.sla_policy
    return policy
