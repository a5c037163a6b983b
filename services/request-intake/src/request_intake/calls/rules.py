"""When a call accepts requests and from whom: pure rules on a call's fields and a clock."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from c2r_common.reference import Country


class CallState(StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


class Timing(StrEnum):
    TOO_EARLY = "too_early"
    ON_TIME = "on_time"
    LATE = "late"  # after the deadline, inside the grace period
    TOO_LATE = "too_late"


# Names people use that the IANA database does not have. Geneva (ITU headquarters) keeps
# Swiss time, which IANA names after Zurich.
ZONE_ALIASES = {"Europe/Geneva": "Europe/Zurich"}


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` (or an alias of one); ValueError when unknown."""
    try:
        return ZoneInfo(ZONE_ALIASES.get(name, name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name (Europe/Zurich)") from None


def localize(moment: datetime, zone_name: str) -> datetime:
    """An aware instant; a naive `moment` is a wall-clock time in the zone `zone_name`.

    A wall-clock time that does not exist (skipped by a daylight-saving change) is refused;
    one that happens twice (clocks set back) is the first of the two.
    """
    if moment.tzinfo is not None:
        return moment
    time_zone = zone(zone_name)
    aware = moment.replace(tzinfo=time_zone, fold=0)
    if aware.astimezone(ZoneInfo("UTC")).astimezone(time_zone).replace(tzinfo=None) != moment:
        raise ValueError(f"{moment.isoformat()} does not exist in {zone_name} (clock change)")
    return aware


@dataclass(frozen=True)
class Window:
    opens_at: datetime
    closes_at: datetime
    grace: timedelta

    @property
    def accepts_until(self) -> datetime:
        return self.closes_at + self.grace

    def state(self, now: datetime) -> CallState:
        if now < self.opens_at:
            return CallState.UPCOMING
        if now <= self.closes_at:
            return CallState.OPEN
        return CallState.CLOSED

    def timing(self, now: datetime) -> Timing:
        """The deadline instant itself is still on time; the grace period's end is late."""
        if now < self.opens_at:
            return Timing.TOO_EARLY
        if now <= self.closes_at:
            return Timing.ON_TIME
        if now <= self.accepts_until:
            return Timing.LATE
        return Timing.TOO_LATE


def is_eligible(country: Country, regions: list[str], countries: list[str]) -> bool:
    """Open to everyone when the call names neither regions nor countries."""
    if not regions and not countries:
        return True
    return country.iso3 in countries or country.itu_region.value in regions
