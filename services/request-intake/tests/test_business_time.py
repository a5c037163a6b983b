"""Business time, the arithmetic of paused SLA clocks: properties over any calendar, zone and
instants, and the Geneva calendar's own days (Christmas, Jeûne genevois, Restauration de la
République, the daylight-saving changes)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import assume, given
from hypothesis import strategies as st

from request_intake.business_days import (
    BusinessCalendar,
    add_business_time,
    business_time_between,
)
from request_intake.config import IntakeSettings
from request_intake.sla_policy import SlaPolicy

ZONES = [ZoneInfo(name) for name in ("Europe/Zurich", "UTC", "America/Santiago", "Asia/Tokyo")]
GENEVA = ZoneInfo("Europe/Zurich")
days = st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31))
calendars = st.builds(
    BusinessCalendar,
    weekend=st.frozensets(st.integers(0, 6), max_size=5),
    holidays=st.frozensets(days, max_size=40),
)
instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
amounts = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=90))


def geneva() -> SlaPolicy:
    """The default policy: Swiss holidays of the canton of Geneva, Saturday and Sunday off."""
    return SlaPolicy.from_settings(IntakeSettings(database_url="sqlite+aiosqlite://"))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@given(calendars, st.sampled_from(ZONES), instants, amounts)
def test_measuring_what_was_added_gives_it_back(
    calendar: BusinessCalendar, zone: ZoneInfo, start: datetime, amount: timedelta
) -> None:
    end = add_business_time(calendar, zone, start, amount)
    assert end >= start
    assert business_time_between(calendar, zone, start, end) == amount


@given(calendars, st.sampled_from(ZONES), instants, amounts)
def test_the_instant_reached_is_the_earliest(
    calendar: BusinessCalendar, zone: ZoneInfo, start: datetime, amount: timedelta
) -> None:
    assume(amount > timedelta(0))
    end = add_business_time(calendar, zone, start, amount)
    earlier = end - timedelta(microseconds=1)
    assert business_time_between(calendar, zone, start, earlier) < amount


@given(calendars, st.sampled_from(ZONES), instants, instants, instants)
def test_business_time_adds_up_over_consecutive_spans(
    calendar: BusinessCalendar, zone: ZoneInfo, a: datetime, b: datetime, c: datetime
) -> None:
    first, middle, last = sorted((a, b, c))
    whole = business_time_between(calendar, zone, first, last)
    parts = business_time_between(calendar, zone, first, middle) + business_time_between(
        calendar, zone, middle, last
    )
    assert whole == parts
    assert timedelta(0) <= whole <= last - first


@given(calendars, st.sampled_from(ZONES), instants, amounts, amounts)
def test_moving_twice_is_moving_by_the_sum(
    calendar: BusinessCalendar, zone: ZoneInfo, start: datetime, m: timedelta, n: timedelta
) -> None:
    once = add_business_time(calendar, zone, start, m + n)
    twice = add_business_time(calendar, zone, add_business_time(calendar, zone, start, m), n)
    assert once == twice


@given(calendars, st.sampled_from(ZONES), instants, instants, instants)
def test_a_paused_clock_keeps_the_business_time_it_had_left(
    calendar: BusinessCalendar, zone: ZoneInfo, a: datetime, b: datetime, c: datetime
) -> None:
    """Paused at `paused`, resumed at `resumed`, due at `due`: the due date moved by the
    paused business time leaves as much business time after resumption as was left at the
    pause, whatever weekends, holidays and clock changes lie between."""
    paused, due, resumed = a, max(a, b), max(a, c)
    left = business_time_between(calendar, zone, paused, due)
    moved = add_business_time(
        calendar, zone, due, business_time_between(calendar, zone, paused, resumed)
    )
    assert moved >= due
    if resumed <= moved:
        assert business_time_between(calendar, zone, resumed, moved) == left


@given(calendars, st.sampled_from(ZONES), days, st.integers(0, 20))
def test_a_pause_over_days_off_only_moves_nothing(
    calendar: BusinessCalendar, zone: ZoneInfo, first: date, length: int
) -> None:
    off = [first + timedelta(days=k) for k in range(length + 1)]
    closed = BusinessCalendar(calendar.weekend, calendar.holidays | set(off))
    start = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(off[-1] + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    assert business_time_between(closed, zone, start, end) == timedelta(0)
    due = end + timedelta(days=3)
    assert (
        add_business_time(closed, zone, due, business_time_between(closed, zone, start, end)) == due
    )


@given(instants, amounts)
def test_on_the_geneva_calendar_no_business_time_falls_on_a_holiday_or_weekend(
    start: datetime, amount: timedelta
) -> None:
    policy = geneva()
    end = policy.shifted(start, amount)
    assume(amount > timedelta(0))
    last_instant = (end - timedelta(microseconds=1)).astimezone(GENEVA).date()
    assert policy.calendar.is_business_day(last_instant)


def test_the_geneva_calendar_has_the_cantons_holidays() -> None:
    calendar = geneva().calendar
    for holiday in (
        date(2026, 12, 25),  # Christmas
        date(2026, 9, 10),  # Jeûne genevois, the Thursday after the first Sunday of September
        date(2027, 9, 9),
        date(2026, 12, 31),  # Restauration de la République
        date(2027, 1, 1),
        date(2026, 4, 3),  # Good Friday
    ):
        assert not calendar.is_business_day(holiday), holiday
    assert calendar.is_business_day(date(2026, 12, 28))


def test_a_pause_over_christmas_and_the_restauration_counts_only_the_working_days() -> None:
    policy = geneva()
    # Friday 18 December 2026, 16:00 in Geneva, to Monday 4 January 2027, 09:00.
    paused = at("2026-12-18T16:00:00+01:00")
    resumed = at("2027-01-04T09:00:00+01:00")
    # 8 h of the Friday; 21-24 and 28-30 December (Christmas, the 31st and New Year off);
    # 9 h of the Monday.
    expected = timedelta(hours=8) + timedelta(days=7) + timedelta(hours=9)
    assert policy.business_time(paused, resumed) == expected


def test_a_pause_over_the_jeune_genevois_skips_the_thursday() -> None:
    policy = geneva()
    paused = at("2026-09-09T12:00:00+02:00")  # Wednesday
    resumed = at("2026-09-11T12:00:00+02:00")  # Friday; Thursday 10 is the Jeûne genevois
    assert policy.business_time(paused, resumed) == timedelta(hours=24)


def test_a_business_day_of_a_clock_change_is_as_long_as_it_really_is() -> None:
    sundays_work = BusinessCalendar(weekend=frozenset({5}))
    spring = at("2026-03-29T00:00:00+01:00")  # Sunday: 02:00 becomes 03:00
    spring_monday = at("2026-03-30T00:00:00+02:00")
    autumn = at("2026-10-25T00:00:00+02:00")  # Sunday: 03:00 becomes 02:00
    autumn_monday = at("2026-10-26T00:00:00+01:00")
    assert business_time_between(sundays_work, GENEVA, spring, spring_monday) == timedelta(hours=23)
    assert business_time_between(sundays_work, GENEVA, autumn, autumn_monday) == timedelta(hours=25)
    # A day's worth of business time from the spring Sunday's midnight ends at 01:00 on the
    # Monday; from the autumn one, at 23:00 on the Sunday itself.
    moved = add_business_time(sundays_work, GENEVA, spring, timedelta(hours=24))
    assert moved.astimezone(GENEVA) == at("2026-03-30T01:00:00+02:00")
    moved = add_business_time(sundays_work, GENEVA, autumn, timedelta(hours=24))
    assert moved.astimezone(GENEVA) == at("2026-10-25T23:00:00+01:00")
    # On the default calendar the changes fall on Sundays off: a pause over the weekend of
    # the change counts Friday's and Monday's hours only.
    policy = geneva()
    friday_noon = at("2026-03-27T12:00:00+01:00")
    monday_noon = at("2026-03-30T12:00:00+02:00")
    assert policy.business_time(friday_noon, monday_noon) == timedelta(hours=24)


def test_a_due_date_at_the_end_of_a_friday_moves_into_the_next_business_week() -> None:
    policy = geneva()
    due = at("2026-06-19T22:00:00+00:00")  # midnight ending Friday 19 June in Geneva
    moved = policy.shifted(due, timedelta(hours=5))
    assert moved.astimezone(GENEVA) == at("2026-06-22T05:00:00+02:00")
