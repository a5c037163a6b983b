"""Reads of stored measurements; their ingestion is school_monitor.ingestion."""

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.pagination import PageParams, paginate
from school_monitor.measurements.models import FailedMeasurement, Measurement, MeasurementFlag


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
    if countries is not None:  # the country a record is filed under, not the one it names
        statement = statement.where(FailedMeasurement.country_iso3.in_(sorted(countries)))
    if reason is not None:
        statement = statement.where(FailedMeasurement.reason == reason)
    return await paginate(
        db, statement, (FailedMeasurement.received_at, FailedMeasurement.id), page
    )


async def list_flags(
    db: AsyncSession, countries: frozenset[str] | None, kind: str | None, page: PageParams
) -> tuple[list[MeasurementFlag], str | None]:
    """Data-quality flags of stored measurements, of the schools of `countries`."""
    statement = select(MeasurementFlag)
    if countries is not None:
        statement = statement.where(MeasurementFlag.country_iso3.in_(sorted(countries)))
    if kind is not None:
        statement = statement.where(MeasurementFlag.kind == kind)
    order = (MeasurementFlag.created_at, MeasurementFlag.measurement_uuid, MeasurementFlag.kind)
    return await paginate(db, statement, order, page)
