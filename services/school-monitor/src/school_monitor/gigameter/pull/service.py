"""Reads of stored measurements the way the Giga Meter backend answers them, for Giga Maps'
pull and the backend's documented reads.

Paging is by offset (`page` * `size`, as Giga Maps asks) over an order that is unique,
the column asked for then the measurement's UUID, so that pages neither repeat nor skip
rows. Giga Maps pulls `filterBy=created_at&filterCondition=gt&filterValue=<the latest
created_at it has>`: `created_at` is when a measurement was received, with microseconds,
so that the value it sends back is exact.

And it must never be passed by a row that commits later. Two group commits are in flight
at once on PostgreSQL, and a batch may run for seconds: a transaction that received its
rows at 10:00:00 may commit after one that received its rows at 10:00:01 was read, and a
pull that went on from 10:00:01 would never see them. So a read shows only the rows
received before the oldest ingesting transaction still open began (ingestion stores a
transaction's rows at a time read inside it, never earlier than its start, and names the
transaction in pg_stat_activity: school_monitor.ingestion.writer.transaction_time): all of
them are committed, and the others are shown by a later pull. Other transactions (a
backup, an idle session) hide nothing. A read first waits a moment for the ingesting
transactions open to end, so that it does not answer an empty page while rows are on
their way: Giga Maps takes an empty page for "nothing until now" and goes on from its own
clock. SQLite's writers commit in the order of their time.
"""

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVarTuple

from sqlalchemy import ColumnElement, Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from c2r_common.errors import FieldProblem, ProblemError
from c2r_common.reference import country_by_iso3
from school_monitor.gigameter.credentials import giga_id_forms
from school_monitor.gigameter.pull.schemas import (
    FailedMeasurementDto,
    FilterBy,
    FilterCondition,
    MeasurementDto,
    MeasurementV2,
    OrderBy,
)
from school_monitor.ingestion.writer import INGESTING
from school_monitor.measurements.models import FailedMeasurement, Measurement
from school_monitor.schools.models import School

KBPS_PER_MBPS = 1000.0
# Each column with the UUID that makes an order by it unique.
COLUMNS: dict[FilterBy, tuple[InstrumentedAttribute[datetime], InstrumentedAttribute[Any]]] = {
    FilterBy.TIMESTAMP: (Measurement.measured_at, Measurement.uuid),
    FilterBy.CREATED_AT: (Measurement.received_at, Measurement.uuid),
}

# A '+' of an offset that a client did not URL-encode arrives as a space.
_UNENCODED_OFFSET = re.compile(r" (\d{2}:?\d{2})$")


@dataclass(frozen=True)
class PullQuery:
    """The query parameters of the Giga Meter reads, checked."""

    page: int
    size: int
    order_by: OrderBy
    giga_id_school: str | None
    country_iso3: str | None
    filter_by: FilterBy | None
    condition: FilterCondition | None
    value: datetime | None
    value_has_time: bool = True


def parse_filter_value(text: str) -> tuple[datetime, bool]:
    """A datetime as Giga Maps sends it (Python's str(datetime): '2026-12-01
    10:15:30.123456+00:00'), ISO 8601 ('2024-01-14T15:13:30.824Z') or a date; without an
    offset it is UTC. Also whether it has a time of day (upstream compares a bare date
    with the whole day)."""
    text = _UNENCODED_OFFSET.sub(r"+\1", text.strip())
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ProblemError(
            422,
            "filterValue must be a date or a date and time.",
            problem_type="validation",
            errors=[FieldProblem(field="query.filterValue", message=f"cannot read {text!r}")],
        ) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    has_time = moment != moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment, has_time


def check_filter(
    filter_by: FilterBy | None, condition: FilterCondition | None, value: str | None
) -> tuple[datetime | None, bool]:
    """Upstream's rules: a filter column needs a condition and a value."""
    if filter_by is None:
        return None, True
    if condition is None or not value:
        missing = "filterCondition" if condition is None else "filterValue"
        raise ProblemError(
            422,
            f"filterBy={filter_by.value} needs a filterCondition and a filterValue.",
            problem_type="validation",
            errors=[FieldProblem(field=f"query.{missing}", message="required with filterBy")],
        )
    return parse_filter_value(value)


def _time_filter(query: PullQuery) -> list[ColumnElement[bool]]:
    # No bound on measured_at is derived from one on received_at: how old a row was when
    # it came depends on the acceptance window then in force (or a backfill), so any
    # such bound can leave kept rows out. The price on PostgreSQL: a pull by created_at
    # reads every kept monthly partition (measurements have no received_at index).
    if query.filter_by is None or query.condition is None or query.value is None:
        return []
    column, value = COLUMNS[query.filter_by][0], query.value
    day_end = value.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    exact = query.value_has_time
    conditions = {
        FilterCondition.LT: [column < value],
        FilterCondition.LTE: [column <= value] if exact else [column < day_end],
        FilterCondition.GT: [column > value] if exact else [column >= day_end],
        FilterCondition.GTE: [column >= value],
        FilterCondition.EQ: [column == value] if exact else [column >= value, column < day_end],
    }
    return conditions[query.condition]


def _order(order_by: OrderBy) -> list[Any]:
    column, unique = COLUMNS[FilterBy(order_by.value.removeprefix("-"))]
    if order_by.value.startswith("-"):
        return [column.desc(), unique.desc()]
    return [column.asc(), unique.asc()]


Row = TypeVarTuple("Row")


def _readable(statement: Select[*Row], countries: frozenset[str] | None) -> Select[*Row]:
    if countries is None:
        return statement
    return statement.where(School.country_iso3.in_(sorted(countries)))


def _filtered(
    statement: Select[*Row],
    query: PullQuery,
    countries: frozenset[str] | None,
) -> Select[*Row]:
    statement = _readable(statement.join(School, School.id == Measurement.school_id), countries)
    if query.giga_id_school:
        statement = statement.where(School.giga_id.in_(giga_id_forms(query.giga_id_school)))
    if query.country_iso3:
        statement = statement.where(School.country_iso3 == query.country_iso3.upper())
    statement = statement.where(*_time_filter(query)).order_by(*_order(query.order_by))
    return statement.offset(query.page * query.size).limit(query.size)


def iso2_of(iso3: str) -> str | None:
    country = country_by_iso3(iso3)
    return None if country is None else country.iso2


def kbps(mbps: float | None) -> float | None:
    # Rounded to the bit per second: kbps * 1000 / 1000 must not come back as 23456.699999.
    return None if mbps is None else round(mbps * KBPS_PER_MBPS, 3)


def whole_ms(latency: float | None) -> int | None:
    return None if latency is None else round(latency)


def government_id(school: str | None, sent: Any) -> str:
    """The school's government id, else the one the agent sent, else empty: never null."""
    if school:
        return school
    return sent if isinstance(sent, str) else ""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_V2_COLUMNS = (
    Measurement.measured_at,
    Measurement.received_at,
    Measurement.download_mbps,
    Measurement.upload_mbps,
    Measurement.latency_ms,
    Measurement.app_version,
    Measurement.source,
    School.giga_id,
    School.government_id,
    School.country_iso3,
    # The few keys of the raw payload Giga Maps wants, not the whole ~2 KB of it.
    Measurement.raw_result["BrowserID"].as_string(),
    Measurement.raw_result["ip_address"].as_string(),
    Measurement.raw_result["school_id"].as_string(),
)


# Read before the rows, in a statement of its own: an ingesting transaction open now has
# not committed yet, and one that begins later receives its rows after this time.
_OLDEST_INGESTING = text(
    "SELECT min(xact_start), statement_timestamp() FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    f"AND application_name = '{INGESTING}' AND xact_start IS NOT NULL"
)
_FRESH_ACTIVITY = text("SELECT pg_stat_clear_snapshot()")
# Ingesting transactions last milliseconds, a large batch a few seconds.
WAIT_FOR_INGESTING_SECONDS = 5.0
WAIT_POLL_SECONDS = 0.05


async def settled_before(db: AsyncSession) -> datetime:
    """The time before which every received row is committed; waits up to
    WAIT_FOR_INGESTING_SECONDS for the ingesting transactions open to end."""
    deadline = time.monotonic() + WAIT_FOR_INGESTING_SECONDS
    while True:
        # A transaction keeps reading its first snapshot of pg_stat_activity.
        await db.execute(_FRESH_ACTIVITY)
        oldest, now = (await db.execute(_OLDEST_INGESTING)).one()
        if oldest is None:
            moment: datetime = now
            return moment
        if time.monotonic() >= deadline:
            oldest_open: datetime = oldest
            return oldest_open
        await asyncio.sleep(WAIT_POLL_SECONDS)


async def _settled_read(
    db: AsyncSession,
    columns: Sequence[Any],
    query: PullQuery,
    countries: frozenset[str] | None,
) -> Select[Any]:
    """The read, of only the rows whose transaction has surely committed (see the module)."""
    statement = _filtered(select(*columns), query, countries)
    if db.get_bind().dialect.name != "postgresql":
        return statement
    return statement.where(Measurement.received_at < await settled_before(db))


async def measurements_v2(
    db: AsyncSession, query: PullQuery, countries: frozenset[str] | None
) -> list[MeasurementV2]:
    statement = await _settled_read(db, _V2_COLUMNS, query, countries)
    return [_v2(row) for row in await db.execute(statement)]


def _v2(row: Sequence[Any]) -> MeasurementV2:
    (measured, received, down, up, latency, version, source) = row[:7]
    (giga_id, school_government_id, iso3, browser, ip_address, sent_school_id) = row[7:]
    return MeasurementV2(
        timestamp=measured,
        browserId=browser,
        school_id=government_id(school_government_id, sent_school_id),
        download=kbps(down),
        upload=kbps(up),
        latency=whole_ms(latency),
        giga_id_school=giga_id,
        country_code=iso2_of(iso3),
        ip_address=ip_address,
        app_version=version,
        source=source,
        created_at=received,
    )


_FULL_COLUMNS = (Measurement, School.giga_id, School.government_id, School.country_iso3)


async def measurements(
    db: AsyncSession, query: PullQuery, countries: frozenset[str] | None
) -> list[MeasurementDto]:
    statement = await _settled_read(db, _FULL_COLUMNS, query, countries)
    return [_dto(*row) for row in await db.execute(statement)]


async def measurements_of_school(
    db: AsyncSession, school_id: str, page: int, size: int, countries: frozenset[str] | None
) -> list[MeasurementDto]:
    """By government school id, newest first."""
    statement = _readable(
        select(*_FULL_COLUMNS).join(School, School.id == Measurement.school_id), countries
    ).where(School.government_id == school_id)
    statement = statement.order_by(*_order(OrderBy.TIMESTAMP_DESC))
    rows = await db.execute(statement.offset(page * size).limit(size))
    return [_dto(*row) for row in rows]


def without_connection_info(results: Any) -> dict[str, Any] | None:
    """The ndt7 result without the client's address, as upstream answers it."""
    if not isinstance(results, dict):
        return None
    cleaned = {key: value for key, value in results.items() if key != "NDTResult.S2C.ClientIP"}
    for direction in ("NDTResult.S2C", "NDTResult.C2S"):
        part = cleaned.get(direction)
        if not isinstance(part, dict):
            continue
        server = part.get("LastServerMeasurement")
        if isinstance(server, dict) and "ConnectionInfo" in server:
            server = {k: v for k, v in server.items() if k != "ConnectionInfo"}
            cleaned[direction] = {**part, "LastServerMeasurement": server}
    return cleaned


def _bytes(results: dict[str, Any] | None, direction: str, field: str) -> int | None:
    server = ((results or {}).get(direction) or {}).get("LastServerMeasurement") or {}
    value = (server.get("TCPInfo") or {}).get(field)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def data_usage(results: dict[str, Any] | None) -> tuple[int | None, int | None, int | None]:
    """Bytes downloaded, uploaded and both, from the ndt7 result, as upstream counts them."""
    down = _bytes(results, "NDTResult.S2C", "BytesAcked")
    up = _bytes(results, "NDTResult.C2S", "BytesReceived")
    total = None if down is None and up is None else (down or 0) + (up or 0)
    return down, up, total


def _dto(row: Measurement, giga_id: str, school_gov_id: str | None, iso3: str) -> MeasurementDto:
    raw = row.raw_result or {}
    results = raw.get("Results") if isinstance(raw.get("Results"), dict) else None
    downloaded, uploaded, used = data_usage(results)
    return MeasurementDto(
        id=str(row.uuid),
        Timestamp=row.measured_at,
        UUID=str(row.uuid),
        BrowserID=_text(raw.get("BrowserID")),
        DeviceType=_text(raw.get("DeviceType")),
        Notes=_text(raw.get("Notes")),
        ClientInfo=raw.get("ClientInfo") if isinstance(raw.get("ClientInfo"), dict) else None,
        ServerInfo=raw.get("ServerInfo") if isinstance(raw.get("ServerInfo"), dict) else None,
        annotation=_text(raw.get("Annotation") or raw.get("annotation")),
        Download=kbps(row.download_mbps) or 0.0,
        Upload=kbps(row.upload_mbps) or 0.0,
        Latency=whole_ms(row.latency_ms) or 0,
        Results=without_connection_info(results),
        DataDownloaded=downloaded,
        DataUploaded=uploaded,
        DataUsage=used,
        giga_id_school=giga_id,
        country_code=iso2_of(iso3),
        ip_address=_text(raw.get("ip_address")),
        app_version=row.app_version,
        source=row.source,
        created_at=row.received_at,
        school_id=government_id(school_gov_id, raw.get("school_id")),
    )


async def failed(
    db: AsyncSession, page: int, size: int, countries: frozenset[str] | None
) -> list[FailedMeasurementDto]:
    statement = select(FailedMeasurement)
    if countries is not None:  # the country a record is filed under
        statement = statement.where(FailedMeasurement.country_iso3.in_(sorted(countries)))
    order = (FailedMeasurement.received_at, FailedMeasurement.id)
    statement = statement.order_by(*order).offset(page * size).limit(size)
    return [_failed_dto(record) for record in await db.scalars(statement)]


def _failed_dto(record: FailedMeasurement) -> FailedMeasurementDto:
    raw = record.payload if isinstance(record.payload, dict) else {}
    sent = {name: raw.get(name) for name in FailedMeasurementDto.model_fields if name in raw}
    results = without_connection_info(raw.get("Results"))
    return FailedMeasurementDto.model_validate(
        sent
        | {
            "id": str(record.id),
            "UUID": record.client_uuid,
            "Results": results,
            "annotation": raw.get("Annotation", raw.get("annotation")),
            "giga_id_school": record.giga_id_school,
            "country_code": record.country_code,
            "source": str(raw.get("source") or "DailyCheckApp"),
            "created_at": record.received_at,
            "reason": record.reason,
            "detail": record.detail,
        }
    )
