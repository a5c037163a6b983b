"""The calendar of the raw rows' storage, as pure functions of the time and the settings.

Partitions cover one UTC month each, [first instant, first instant of the next month).
Which months must exist: every month an accepted item can fall in (from the oldest
accepted moment to now plus the future tolerance) and a few ahead. Which can go: a month
whose end is before the retention boundary, which is never inside the acceptance window.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from school_monitor.measurements.validation import FUTURE_TOLERANCE

# Kept beyond the acceptance window before a UUID key is pruned: clocks of replicas that
# disagree by less than this cannot let an item still accepted find its key gone.
KEY_MARGIN = timedelta(days=1)
# The shortest span of N calendar months is at least 28 N days.
SHORTEST_MONTH_DAYS = 28

_PARTITION_NAME = re.compile(r"^(?P<table>[a-z_]+)_y(?P<year>\d{4})m(?P<month>\d{2})$")


def month_start(moment: datetime) -> datetime:
    """The first instant (UTC) of the month `moment` is in."""
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def add_months(month: datetime, count: int) -> datetime:
    """The first instant of the month `count` months after (or before) `month`'s."""
    index = month.year * 12 + month.month - 1 + count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Month:
    """One partition's range: [start, end)."""

    start: datetime

    @property
    def end(self) -> datetime:
        return add_months(self.start, 1)

    def partition_name(self, table: str) -> str:
        return f"{table}_y{self.start.year:04d}m{self.start.month:02d}"


def parse_partition_name(name: str, table: str) -> Month | None:
    """The month of a partition of `table` named by `Month.partition_name`, else None."""
    found = _PARTITION_NAME.match(name)
    if found is None or found["table"] != table:
        return None
    return Month(datetime(int(found["year"]), int(found["month"]), 1, tzinfo=UTC))


def is_partition_name(name: str, table: str) -> bool:
    """Whether `name` is one of the partitions of `table`: a month's or the DEFAULT one."""
    return name == f"{table}_default" or parse_partition_name(name, table) is not None


def months_needed(now: datetime, max_age: timedelta, ahead: int) -> list[Month]:
    """From the month of the oldest accepted moment to `ahead` months after the current
    one (which holds the future tolerance, except in its last minutes: ahead >= 1)."""
    first = month_start(now - max_age)
    last = add_months(month_start(now + FUTURE_TOLERANCE), ahead)
    months = []
    while first <= last:
        months.append(Month(first))
        first = add_months(first, 1)
    return months


def raw_cutoff(now: datetime, retention_months: int, max_age: timedelta) -> datetime | None:
    """Raw rows whose moment is before this instant may be removed (None: keep all).

    The start of the month `retention_months` before the current one, and never later
    than the start of the oldest month an item can still be accepted into.
    """
    if retention_months <= 0:
        return None
    boundary = add_months(month_start(now), -retention_months)
    return min(boundary, month_start(now - max_age - FUTURE_TOLERANCE))


def is_expired(month: Month, cutoff: datetime | None) -> bool:
    return cutoff is not None and month.end <= cutoff


def key_cutoff(now: datetime, max_age: timedelta) -> datetime:
    """UUID keys stored before this instant may be pruned.

    An item is stored at most FUTURE_TOLERANCE before its moment, so a key stored before
    now - (max_age + FUTURE_TOLERANCE + margin) belongs to an item whose moment is older
    than now - max_age: sent again, it is refused as out of window before any insert.
    """
    return now - (max_age + FUTURE_TOLERANCE + KEY_MARGIN)


def shortest_retention_months(max_age_days: int) -> int:
    """The fewest whole months that always reach past the acceptance window plus a day:
    a shorter retention would remove rows that retries can still match."""
    return (max_age_days + 1) // SHORTEST_MONTH_DAYS + 1


def retention_covers_window(retention_months: int, max_age_days: int) -> bool:
    return retention_months == 0 or retention_months >= shortest_retention_months(max_age_days)
