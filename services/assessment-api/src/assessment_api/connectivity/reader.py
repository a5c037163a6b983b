"""Reads school connectivity from school-monitor over REST, within a time budget.

Scoring must answer even when school-monitor is slow or down: every failure becomes a
reading with no value and the reason, never an exception.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import httpx
from fastapi import Depends, Request
from prometheus_client import Counter
from pydantic import ValidationError

from c2r_common.client import ServiceClient
from c2r_common.schemas import CountryConnectivitySummary

logger = logging.getLogger("assessment_api.connectivity")

SCHOOL_MONITOR_READS = Counter(
    "c2r_assessment_school_monitor_reads_total",
    "Reads of school-monitor's country connectivity summary, by outcome.",
    ["outcome"],
)
SOURCE_NAME = "school-monitor"
# What a gateway or proxy answers when school-monitor itself is down or overloaded.
GATEWAY_UNAVAILABLE = frozenset({502, 503, 504})


@dataclass(frozen=True)
class LiveReading:
    value: float | None
    reason: str | None = None  # why there is no value
    as_of: datetime | None = None
    data_age_days: int | None = None  # days since the last measurement, when said


def _failed(outcome: str, reason: str) -> LiveReading:
    SCHOOL_MONITOR_READS.labels(outcome).inc()
    logger.warning("school-monitor read failed: %s", reason)
    return LiveReading(value=None, reason=reason)


class SchoolMonitorReader:
    def __init__(self, client: ServiceClient, budget_seconds: float) -> None:
        self.client = client
        self.budget_seconds = budget_seconds

    async def aclose(self) -> None:
        await self.client.aclose()

    async def schools_connected(self, iso3: str) -> LiveReading:
        """The share of the country's schools with good or moderate connectivity."""
        try:
            # The whole read, retries included, fits in one budget.
            async with asyncio.timeout(self.budget_seconds):
                response = await self.client.get(f"/v1/connectivity/countries/{iso3}")
        except TimeoutError:
            return _failed(
                "timeout", f"school-monitor did not answer within {self.budget_seconds} s"
            )
        except httpx.HTTPError as exc:
            return _failed("unreachable", f"school-monitor is unreachable ({type(exc).__name__})")
        return self._interpret(iso3, response)

    def _interpret(self, iso3: str, response: httpx.Response) -> LiveReading:
        if response.status_code == httpx.codes.NOT_FOUND:
            return _failed("not_found", f"school-monitor has no connectivity data for {iso3}")
        if response.status_code in GATEWAY_UNAVAILABLE:
            reason = f"school-monitor is unavailable (HTTP {response.status_code})"
            return _failed("unavailable", reason)
        if response.status_code != httpx.codes.OK:
            return _failed("error", f"school-monitor answered HTTP {response.status_code}")
        try:
            summary = CountryConnectivitySummary.model_validate_json(response.content)
        except ValidationError:
            return _failed("invalid", "school-monitor sent a summary this service cannot read")
        if summary.schools_connected_pct is None:
            return _failed("no_data", f"school-monitor has no classified schools for {iso3}")
        if lacks_measurements(summary):
            # Its schools are all 'unknown', so the share connected reads 0: not a measured 0.
            reason = (
                f"no measurement data: none of the {summary.schools_total} schools of {iso3} "
                "in school-monitor has sent a measurement"
            )
            return _failed("no_measurements", reason)
        SCHOOL_MONITOR_READS.labels("ok").inc()
        return LiveReading(
            value=summary.schools_connected_pct,
            as_of=summary.as_of,
            data_age_days=summary.data_age_days,
        )


def lacks_measurements(summary: CountryConnectivitySummary) -> bool:
    """Whether the summary rests on no measurement at all. A school-monitor that predates
    `has_measurements` is judged by its last measurement date."""
    if summary.has_measurements is not None:
        return not summary.has_measurements
    if summary.schools_with_data is not None:
        return summary.schools_with_data == 0
    return summary.last_measurement_date is None


def school_monitor(request: Request) -> SchoolMonitorReader:
    reader: SchoolMonitorReader = request.app.state.school_monitor
    return reader


SchoolMonitorDep = Annotated[SchoolMonitorReader, Depends(school_monitor)]
