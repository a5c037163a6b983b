"""Giga Meter payloads become native measurements; the ones that cannot (wrong school id,
country mismatch) are recorded as failed, with the reason, and listable."""

import uuid
from datetime import UTC
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal
from c2r_common.db import claim_write_lock
from c2r_common.errors import FieldProblem, ProblemError
from c2r_common.reference import country_by_iso2
from school_monitor.config import SchoolMonitorSettings
from school_monitor.gigameter.schemas import GigaMeterMeasurement
from school_monitor.ingestion import pipeline
from school_monitor.measurements.models import FailedMeasurement
from school_monitor.measurements.schemas import IngestReport, MeasurementIn
from school_monitor.metrics import MEASUREMENTS_REJECTED, source_label
from school_monitor.schools.models import School

KBPS_PER_MBPS = 1000.0
# Giga Meter UUIDs are usually RFC 4122, but older app versions sent other strings; those
# get a stable UUID derived from the string, so that their retries still de-duplicate.
LEGACY_UUID_NAMESPACE = uuid.UUID("5d1f4a2e-6c0b-4e0e-9b7a-9a3c2f1e8d10")


class Failure(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def client_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        return uuid.uuid5(LEGACY_UUID_NAMESPACE, value)


async def find_school(db: AsyncSession, payload: GigaMeterMeasurement) -> School:
    giga_id = payload.giga_id_school.strip()
    statement = select(School).where(
        or_(School.giga_id == giga_id, func.lower(School.giga_id) == giga_id.lower())
    )
    school = (await db.scalars(statement.limit(1))).first()
    if school is None:
        raise Failure("unknown_school", f"No school with Giga id {giga_id!r}.")
    country = country_by_iso2(payload.country_code)
    if country is None:
        raise Failure("country_mismatch", f"Unknown country code {payload.country_code!r}.")
    if country.iso3 != school.country_iso3:
        raise Failure(
            "country_mismatch",
            f"country_code {payload.country_code.upper()} ({country.iso3}) does not match the "
            f"school's country {school.country_iso3}.",
        )
    return school


# Native field -> the Giga Meter field it came from, to name the field a client sent.
GIGA_FIELDS = {
    "download_mbps": "Download",
    "upload_mbps": "Upload",
    "latency_ms": "Latency",
    "measured_at": "Timestamp",
    "uuid": "UUID",
    "server": "ServerInfo",
    "app_version": "app_version",
    "source": "source",
}


def giga_field(native: str) -> str:
    name = native.removeprefix("body.").split(".")[0]
    return f"body.{GIGA_FIELDS.get(name, name)}"


def to_native(payload: GigaMeterMeasurement, school: School) -> MeasurementIn:
    """The native measurement, or a 422 naming the Giga Meter field that is implausible."""
    try:
        return _convert(payload, school)
    except ValidationError as exc:
        errors = [
            FieldProblem(field=giga_field(".".join(map(str, e["loc"]))), message=e["msg"])
            for e in exc.errors()
        ]
        raise ProblemError(
            422, "The measurement is not plausible.", problem_type="validation", errors=errors
        ) from None


def _convert(payload: GigaMeterMeasurement, school: School) -> MeasurementIn:
    measured_at = payload.timestamp
    if measured_at.tzinfo is None:  # the app sends UTC ("Z"); a bare time is read as UTC
        measured_at = measured_at.replace(tzinfo=UTC)
    server = (payload.server_info or {}).get("FQDN") or (payload.server_info or {}).get("URL")
    return MeasurementIn(
        uuid=client_uuid(payload.uuid),
        school_id=school.id,
        measured_at=measured_at,
        download_mbps=payload.download_kbps / KBPS_PER_MBPS,
        upload_mbps=payload.upload_kbps / KBPS_PER_MBPS,
        latency_ms=payload.latency_ms,
        source=payload.source,
        server=str(server)[:300] if server else None,
        app_version=payload.app_version,
        raw_result=jsonable_encoder(payload.model_dump(by_alias=True)),
    )


async def record_failure(
    db: AsyncSession, payload: GigaMeterMeasurement, failure: Failure
) -> FailedMeasurement:
    """One failed record per client UUID: a retrying agent does not pile up copies."""
    existing = await db.scalar(
        select(FailedMeasurement).where(FailedMeasurement.client_uuid == payload.uuid)
    )
    if existing is not None:
        return existing
    record = FailedMeasurement(
        client_uuid=payload.uuid,
        giga_id_school=payload.giga_id_school,
        country_code=payload.country_code.upper(),
        reason=failure.reason,
        detail=failure.detail,
        payload=jsonable_encoder(payload.model_dump(by_alias=True)),
    )
    db.add(record)
    await db.flush()
    MEASUREMENTS_REJECTED.labels("measurement", failure.reason, source_label(payload.source)).inc()
    return record


async def ingest_giga_meter(
    db: AsyncSession,
    principal: Principal,
    settings: SchoolMonitorSettings,
    payload: GigaMeterMeasurement,
) -> tuple[str, dict[str, Any], IngestReport | None]:
    """("stored" | "duplicate" | "failed", details, the native report if any)."""
    await claim_write_lock(db)
    try:
        school = await find_school(db, payload)
    except Failure as failure:
        record = await record_failure(db, payload, failure)
        return "failed", {"reason": record.reason, "detail": record.detail}, None
    item = to_native(payload, school)
    report = await pipeline.ingest(db, principal, settings, [(0, item)], [], 1, prefix="")
    status = "stored" if report.stored else "duplicate" if report.duplicates else "rejected"
    return status, {"uuid": str(item.uuid), "school_id": str(school.id)}, report
