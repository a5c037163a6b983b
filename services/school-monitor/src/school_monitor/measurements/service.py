"""Reads of stored measurements; their ingestion is school_monitor.ingestion."""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.pagination import PageParams, paginate
from c2r_common.reference import country_by_iso3
from school_monitor.measurements.models import FailedMeasurement, Measurement


async def list_school_measurements(
    db: AsyncSession,
    school_id: uuid.UUID,
    since: datetime | None,
    until: datetime | None,
    page: PageParams,
) -> tuple[list[Measurement], str | None]:
    statement = select(Measurement).where(Measurement.school_id == school_id)
    if since is not None:
        statement = statement.where(Measurement.measured_at >= since)
    if until is not None:
        statement = statement.where(Measurement.measured_at < until)
    return await paginate(db, statement, (Measurement.measured_at, Measurement.uuid), page)


async def list_failed(
    db: AsyncSession, countries: frozenset[str] | None, reason: str | None, page: PageParams
) -> tuple[list[FailedMeasurement], str | None]:
    statement = select(FailedMeasurement)
    if countries is not None:  # failed records carry the alpha-2 code the agent sent
        iso2 = sorted(c.iso2 for c in map(country_by_iso3, countries) if c and c.iso2)
        statement = statement.where(FailedMeasurement.country_code.in_(iso2))
    if reason is not None:
        statement = statement.where(FailedMeasurement.reason == reason)
    return await paginate(
        db, statement, (FailedMeasurement.received_at, FailedMeasurement.id), page
    )
