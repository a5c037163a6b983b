"""Counts of requests by call, status, region, assistance type and country."""

import io
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.csv_safety import SafeWriter
from c2r_common.reference import country_by_iso3
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.calls.models import Call
from request_intake.reports.schemas import CountRow, RequestReport

CSV_COLUMNS = ("dimension", "key", "label", "count")
_DIMENSIONS = ("by_call", "by_status", "by_region", "by_assistance_type", "by_country")


def _scoped(statement: Select[Any], principal: Principal, call_id: uuid.UUID | None) -> Select[Any]:
    if principal.countries is not None:
        statement = statement.where(AssistanceRequest.country_iso3.in_(sorted(principal.countries)))
    if call_id is not None:
        statement = statement.where(AssistanceRequest.call_id == call_id)
    return statement


async def _count_by(
    db: AsyncSession, column: Any, principal: Principal, call_id: uuid.UUID | None
) -> dict[str, int]:
    statement = _scoped(select(column, func.count()).group_by(column), principal, call_id)
    return {str(row[0]): row[1] for row in await db.execute(statement)}


def _rows(counts: dict[str, int], labels: dict[str, str] | None = None) -> list[CountRow]:
    labels = labels or {}
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [CountRow(key=key, label=labels.get(key, key), count=n) for key, n in ordered]


async def _call_titles(db: AsyncSession, ids: list[str]) -> dict[str, str]:
    calls = await db.execute(select(Call.id, Call.title).where(Call.id.in_(map(uuid.UUID, ids))))
    return {str(row[0]): row[1] for row in calls}


def _by_region(by_country: dict[str, int]) -> dict[str, int]:
    regions: Counter[str] = Counter()
    for iso3, count in by_country.items():
        country = country_by_iso3(iso3)
        regions[country.itu_region.value if country else "unknown"] += count
    return dict(regions)


def _country_names(codes: list[str]) -> dict[str, str]:
    return {code: country.name for code in codes if (country := country_by_iso3(code))}


async def build_report(
    db: AsyncSession, principal: Principal, now: datetime, call_id: uuid.UUID | None
) -> RequestReport:
    by_call = await _count_by(db, AssistanceRequest.call_id, principal, call_id)
    by_country = await _count_by(db, AssistanceRequest.country_iso3, principal, call_id)
    return RequestReport(
        as_of=now,
        call_id=call_id,
        total=sum(by_call.values()),
        by_call=_rows(by_call, await _call_titles(db, list(by_call))),
        by_status=_rows(await _count_by(db, AssistanceRequest.status, principal, call_id)),
        by_region=_rows(_by_region(by_country)),
        by_assistance_type=_rows(
            await _count_by(db, AssistanceRequest.assistance_type, principal, call_id)
        ),
        by_country=_rows(by_country, _country_names(list(by_country))),
    )


def to_csv(report: RequestReport) -> str:
    """One row per (dimension, key): easy to pivot in a spreadsheet."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for dimension in _DIMENSIONS:
        rows: list[CountRow] = getattr(report, dimension)
        for row in rows:
            writer.writerow((dimension.removeprefix("by_"), row.key, row.label, row.count))
    return buffer.getvalue()
