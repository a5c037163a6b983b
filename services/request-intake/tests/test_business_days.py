"""Business-day arithmetic: properties that hold for any calendar and any start."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from request_intake.business_days import BusinessCalendar, due_at

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))
weekends = st.frozensets(st.integers(0, 6), max_size=5)
holidays = st.frozensets(days, max_size=30)
calendars = st.builds(BusinessCalendar, weekend=weekends, holidays=holidays)
counts = st.integers(min_value=0, max_value=120)


@given(calendars, days, st.integers(min_value=1, max_value=120))
def test_the_result_is_a_business_day_after_the_start(
    calendar: BusinessCalendar, start: date, n: int
) -> None:
    result = calendar.add_business_days(start, n)
    assert result > start
    assert calendar.is_business_day(result)


@given(calendars, days, counts)
def test_counting_back_gives_the_number_added(
    calendar: BusinessCalendar, start: date, n: int
) -> None:
    assert calendar.business_days_between(start, calendar.add_business_days(start, n)) == n


@given(calendars, days, counts, counts)
def test_adding_is_additive(calendar: BusinessCalendar, start: date, m: int, n: int) -> None:
    once = calendar.add_business_days(start, m + n)
    twice = calendar.add_business_days(calendar.add_business_days(start, m), n)
    assert once == twice


@given(calendars, days, counts)
def test_more_days_is_never_earlier_and_skips_only_days_off(
    calendar: BusinessCalendar, start: date, n: int
) -> None:
    first = calendar.add_business_days(start, n)
    second = calendar.add_business_days(start, n + 1)
    assert second > first
    between = [first + timedelta(days=k) for k in range(1, (second - first).days)]
    assert not any(calendar.is_business_day(day) for day in between)


@given(calendars, days, days)
def test_between_is_antisymmetric(calendar: BusinessCalendar, a: date, b: date) -> None:
    assert calendar.business_days_between(a, b) == -calendar.business_days_between(b, a)


@given(days, counts)
def test_a_five_day_week_without_holidays_matches_the_weekday_formula(start: date, n: int) -> None:
    assume(start.weekday() < 5)
    full_weeks, rest = divmod(n, 5)
    expected = start + timedelta(weeks=full_weeks)
    for _ in range(rest):
        expected += timedelta(days=3 if expected.weekday() == 4 else 1)
    assert BusinessCalendar().add_business_days(start, n) == expected


def test_holidays_and_weekends_are_skipped() -> None:
    # Friday 22 Dec 2023 + 3 business days over Christmas and Boxing Day: Friday 29 Dec.
    calendar = BusinessCalendar(holidays=frozenset({date(2023, 12, 25), date(2023, 12, 26)}))
    assert calendar.add_business_days(date(2023, 12, 22), 3) == date(2023, 12, 29)


def test_due_at_is_the_end_of_the_last_business_day_in_the_calendars_zone() -> None:
    geneva = ZoneInfo("Europe/Zurich")
    # 23:30 UTC on Friday 19 May 2023 is already Saturday in Geneva: counting starts there.
    start = datetime(2023, 5, 19, 23, 30, tzinfo=UTC)
    due = due_at(BusinessCalendar(), start, 5, geneva)
    assert due == datetime(2023, 5, 27, 0, 0, tzinfo=geneva)  # end of Friday 26 May


def test_a_calendar_without_working_days_is_refused() -> None:
    with pytest.raises(ValueError, match="working weekday"):
        BusinessCalendar(weekend=frozenset(range(7)))
