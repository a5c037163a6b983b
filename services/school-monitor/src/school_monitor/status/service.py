"""Reads of the alerts that status changes raise; the changes themselves are made by the
ingestion pipeline and the offline sweep (school_monitor.ingestion)."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.pagination import PageParams, paginate
from school_monitor.status.classification import AlertKind
from school_monitor.status.models import Alert


async def list_alerts(
    db: AsyncSession,
    countries: frozenset[str] | None,
    country: str | None,
    school_id: uuid.UUID | None,
    kind: AlertKind | None,
    page: PageParams,
) -> tuple[list[Alert], str | None]:
    statement = select(Alert)
    if country is not None:
        statement = statement.where(Alert.country_iso3 == country.upper())
    elif countries is not None:
        statement = statement.where(Alert.country_iso3.in_(sorted(countries)))
    if school_id is not None:
        statement = statement.where(Alert.school_id == school_id)
    if kind is not None:
        statement = statement.where(Alert.kind == kind.value)
    return await paginate(db, statement, (Alert.created_at, Alert.id), page)
