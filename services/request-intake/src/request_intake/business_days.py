"""Business-day arithmetic on a calendar of weekends and holidays (pure functions)."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
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


# --- business time: the part of an interval lying on business days -----------------------
#
# A paused SLA clock moves its due date by the business time it was paused: the time that
# fell on business days of the calendar, each day running from midnight to midnight in the
# calendar's zone (23 or 25 hours on a daylight-saving change). Arithmetic is done on UTC
# instants, so a day's length is its real length, never its wall-clock one.


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _business_spans(
    calendar: BusinessCalendar, zone: ZoneInfo, start: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """The business days from `start` on, as [begin, end) UTC spans, the first cut at
    `start`. Endless: callers stop."""
    day = start.astimezone(zone).date()
    while True:
        if calendar.is_business_day(day):
            begin = max(_day_start(day, zone), start)
            end = _day_start(day + timedelta(days=1), zone)
            if end > begin:
                yield begin, end
        day += timedelta(days=1)


def business_time_between(
    calendar: BusinessCalendar, zone: ZoneInfo, start: datetime, end: datetime
) -> timedelta:
    """The business time in [start, end); zero when end is not after start."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    total = timedelta(0)
    if end <= start:
        return total
    for begin, stop in _business_spans(calendar, zone, start):
        if begin >= end:
            break
        total += min(stop, end) - begin
    return total


def add_business_time(
    calendar: BusinessCalendar, zone: ZoneInfo, start: datetime, amount: timedelta
) -> datetime:
    """The earliest instant at which `amount` of business time has passed since `start`
    (in UTC). Ending exactly at a day's end gives that midnight, not the next business
    morning: an SLA due "by the end of the day" stays at the end of a day."""
    if amount < timedelta(0):
        raise ValueError("amount must not be negative")
    start = start.astimezone(UTC)
    if amount == timedelta(0):
        return start
    remaining = amount
    for begin, stop in _business_spans(calendar, zone, start):
        if remaining <= stop - begin:
            return begin + remaining
        remaining -= stop - begin
    raise AssertionError("unreachable: business days never run out")
