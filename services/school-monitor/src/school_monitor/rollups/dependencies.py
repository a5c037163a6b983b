"""The day range of the daily series, shared by the country and the school series."""

from datetime import date, timedelta
from typing import Annotated

from fastapi import Depends, Query

from c2r_common.db import utcnow
from c2r_common.fields import StrictDate
from c2r_common.problems import InvalidField

MAX_DAYS = 366


async def day_range(
    since: Annotated[
        StrictDate | None, Query(description="first day (UTC); default 30 days ago")
    ] = None,
    until: Annotated[StrictDate | None, Query(description="last day (UTC); default today")] = None,
) -> tuple[date, date]:
    last = until or utcnow().date()
    first = since or last - timedelta(days=29)
    if first > last or (last - first).days >= MAX_DAYS:
        message = f"since must be on or before until, at most {MAX_DAYS} days apart"
        raise InvalidField(
            "query.since",
            message,
            f"{message}.",
        )
    return first, last


DayRange = Annotated[tuple[date, date], Depends(day_range)]
