"""Public holidays from the maintained `holidays` package, as sets of days off.

The package knows each country's (and canton's) holidays, including the movable ones
(Easter, the Jeûne genevois), so no operator has to list Christmas every year.
"""

from datetime import date
from functools import cache

import holidays

# Due dates fall within a few years of now; the span leaves decades either side.
HOLIDAY_YEARS = range(2000, 2101)


def check_holiday_region(country: str, subdivision: str | None) -> None:
    """ValueError when the holiday data has no such country or subdivision."""
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"no holiday data for country {country!r} (ISO 3166-1 alpha-2)")
    if subdivision is not None and subdivision not in supported[country]:
        raise ValueError(
            f"no holiday data for subdivision {subdivision!r} of {country}; "
            f"known: {', '.join(supported[country])}"
        )


@cache
def public_holidays(country: str, subdivision: str | None) -> frozenset[date]:
    """The public holidays of `country` (and `subdivision`) over HOLIDAY_YEARS."""
    check_holiday_region(country, subdivision)
    data = holidays.country_holidays(country, subdiv=subdivision, years=HOLIDAY_YEARS)
    return frozenset(data)
