"""Business-day arithmetic on a calendar of weekends and holidays (pure functions)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BusinessCalendar:
    weekend: frozenset[int] = frozenset({5, 6})  # date.weekday(): Monday is 0
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if len(self.weekend) >= 7:
            raise ValueError("a calendar needs at least one working weekday")

    @classmethod
    def of(cls, weekend: Iterable[int], holidays: Iterable[date]) -> "BusinessCalendar":
        return cls(frozenset(weekend), frozenset(holidays))

    def is_business_day(self, day: date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_business_days(self, start: date, days: int) -> date:
        """The `days`-th business day after `start` (`start` itself is not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        remaining = days
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_business_day(day):
                remaining -= 1
        return day

    def business_days_between(self, start: date, end: date) -> int:
        """Business days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.business_days_between(end, start)
        return sum(
            1
            for offset in range(1, (end - start).days + 1)
            if self.is_business_day(start + timedelta(days=offset))
        )


def due_at(calendar: BusinessCalendar, start: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The end of the `days`-th business day after `start`, in the calendar's time zone:
    midnight that follows it, as an aware datetime (a request is due "by end of day")."""
    local_start = start.astimezone(zone).date()
    last_day = calendar.add_business_days(local_start, days)
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)
