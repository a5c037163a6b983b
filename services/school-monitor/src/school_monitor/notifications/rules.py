"""When a change is worth an event (pure rules)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from c2r_common.schemas import ConnectivityStatus

WHOLE_COUNTRY = "*"


def held_long_enough(changed_at: datetime | None, now: datetime, minimum: timedelta) -> bool:
    """Debounce: the status must have stayed unchanged for `minimum` (a link flapping
    faster than that is notified once, when it settles)."""
    return changed_at is None or now - changed_at >= minimum


def is_below(status: str) -> bool:
    return status in {ConnectivityStatus.MODERATE.value, ConnectivityStatus.BAD.value}


@dataclass(frozen=True)
class AreaCount:
    monitored: int  # schools that ever reported
    offline: int  # of those, offline now
    recently_offline: int  # of those, offline since the start of the window

    def __add__(self, other: "AreaCount") -> "AreaCount":
        return AreaCount(
            self.monitored + other.monitored,
            self.offline + other.offline,
            self.recently_offline + other.recently_offline,
        )


def outage_starts(count: AreaCount, share: float, min_schools: int) -> bool:
    """A share of the area's reporting schools went offline within the window."""
    return count.monitored >= min_schools and count.recently_offline >= share * count.monitored


def outage_ends(count: AreaCount, recovery_share: float) -> bool:
    """Hysteresis: over once the offline share is well below the share that started it,
    so that an area hovering at the threshold does not start and end each round."""
    return count.monitored == 0 or count.offline < recovery_share * count.monitored
