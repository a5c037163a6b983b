"""How a Giga Meter payload becomes a native item: pure rules, no database.

- Speeds come in kbps and are stored in Mbps.
- Latency: app versions from 1.0.9 on have it taken from the ndt7 result, the download's
  TCPInfo.MinRTT (microseconds) rounded to whole milliseconds, as the Giga Meter backend
  does; before that, the value sent (a number or a numeric string). "NaN" or null with
  nothing to take it from is refused: the measurement would have no latency.
- The id: the UUID sent (a non-RFC 4122 string gets a UUID derived from it); an empty one
  gets a UUID derived from the measurement's content, so that two different measurements
  are both stored and a re-send of either is recognised.
- The country: the school's, the one its Giga id names. A `country_code` naming another
  country (v1.0.10 sends its IP address's) becomes a data-quality flag.
"""

import json
import math
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from c2r_common.errors import FieldProblem
from c2r_common.reference import Country, country_by_iso2, country_by_iso3
from school_monitor.gigameter.schemas import GigaMeterMeasurement, PingRecord
from school_monitor.ingestion.submission import Flag
from school_monitor.measurements.schemas import MeasurementIn, PingIn

KBPS_PER_MBPS = 1000.0
# Older app versions sent UUIDs that are not RFC 4122: a stable UUID derived from the
# string, so that their retries still de-duplicate.
LEGACY_UUID_NAMESPACE = uuid.UUID("5d1f4a2e-6c0b-4e0e-9b7a-9a3c2f1e8d10")
CONTENT_UUID_NAMESPACE = uuid.UUID("a9c3e7d1-4b2f-4f8e-8d61-2c5b7e0f9a34")
LATENCY_FROM_NDT7_SINCE = (1, 0, 9)
COUNTRY_MISMATCH = "country_mismatch"
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")

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
PING_FIELDS = {
    "uuid": "app_local_uuid",
    "timestamp": "timestamp",
    "is_connected": "isConnected",
    "latency_ms": "latency",
    "error": "errorMessage",
}


class ItemInvalid(Exception):
    """The payload parsed but cannot be a native item; the problems name the agent's
    fields."""

    def __init__(self, errors: list[FieldProblem]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def giga_field(native: str, where: str = "body", names: dict[str, str] = GIGA_FIELDS) -> str:
    """The agent's name of a native field, located like a request body's fields."""
    name = native.split(".")[-1]
    return f"{where}.{names.get(name, name)}"


def client_uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        return uuid.uuid5(LEGACY_UUID_NAMESPACE, value)


def in_utc(moment: datetime) -> datetime:
    """The app sends UTC ("Z"); a time without an offset is read as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def content_uuid(payload: GigaMeterMeasurement) -> uuid.UUID:
    """A UUID that only this measurement's content gives: when and where it was taken, by
    which browser, its speeds and its raw ndt7 result."""
    content = [
        in_utc(payload.timestamp).isoformat(),
        payload.giga_id_school.strip().lower(),
        payload.school_id,
        payload.browser_id,
        payload.download_kbps,
        payload.upload_kbps,
        payload.results,
    ]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return uuid.uuid5(CONTENT_UUID_NAMESPACE, canonical)


def raw_uuid(raw: dict[str, Any]) -> uuid.UUID:
    """A UUID for a payload that cannot be read: derived from all of it, as sent."""
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), default=str)
    return uuid.uuid5(CONTENT_UUID_NAMESPACE, canonical)


def measurement_uuid(payload: GigaMeterMeasurement) -> uuid.UUID:
    sent = payload.uuid.strip()
    return client_uuid(sent) if sent else content_uuid(payload)


def app_version(value: str | None) -> tuple[int, int, int] | None:
    """ "1.0.10" -> (1, 0, 10); anything but three dot-separated numbers -> None."""
    found = _VERSION.match((value or "").strip())
    return None if found is None else (int(found[1]), int(found[2]), int(found[3]))


def ndt7_min_rtt_ms(results: dict[str, Any] | None) -> float | None:
    """The download's minimum RTT in whole milliseconds, rounded half up as JavaScript's
    toFixed(0) does; None when the result does not carry it as a number."""
    server = ((results or {}).get("NDTResult.S2C") or {}).get("LastServerMeasurement") or {}
    min_rtt = (server.get("TCPInfo") or {}).get("MinRTT")
    if isinstance(min_rtt, bool) or not isinstance(min_rtt, int | float):
        return None
    if not math.isfinite(min_rtt):
        return None
    return float(math.floor(min_rtt / 1000 + 0.5))


def latency_ms(payload: GigaMeterMeasurement) -> float | None:
    version = app_version(payload.app_version)
    if version is not None and version >= LATENCY_FROM_NDT7_SINCE:
        measured = ndt7_min_rtt_ms(payload.results)
        if measured is not None:
            return measured
    return payload.latency_ms


def country_of(code: str | None) -> Country | None:
    code = (code or "").strip().upper()
    if len(code) == 2:
        return country_by_iso2(code)
    return country_by_iso3(code) if len(code) == 3 else None


def country_flag(code: str | None, school_iso3: str) -> Flag | None:
    """A flag when `country_code` names a country other than the school's; none when it
    is empty (nothing to compare)."""
    sent = (code or "").strip().upper()
    if not sent:
        return None
    country = country_of(sent)
    if country is None:
        return Flag(COUNTRY_MISMATCH, f"country_code {sent!r} is no ISO 3166 country code.")
    if country.iso3 == school_iso3:
        return None
    return Flag(
        COUNTRY_MISMATCH,
        f"country_code {sent} ({country.iso3}) is not the school's country {school_iso3}; "
        "stored for the school its Giga id names.",
    )


def _server(payload: GigaMeterMeasurement) -> str | None:
    info = payload.server_info or {}
    server = info.get("FQDN") or info.get("URL")
    return str(server)[:300] if server else None


def nul_free(body: bytes) -> bool:
    """Whether a JSON text surely holds no NUL character: JSON can only write one as the
    escape \\u0000, and a raw control character is no valid JSON."""
    return b"\\u0000" not in body


def to_measurement(
    payload: GigaMeterMeasurement,
    raw: dict[str, Any],
    school_id: uuid.UUID,
    where: str = "body",
    raw_nul_free: bool = False,
) -> MeasurementIn:
    """The native measurement, or ItemInvalid naming the agent's fields.

    `raw_nul_free`: the request's body holds no NUL escape (`nul_free`). The raw result
    is then attached as it is instead of walked through for NUL characters, which costs
    more than the rest of the conversion for the agent's ~2 KB payload.
    """
    latency = latency_ms(payload)
    if latency is None:
        missing = "not measured, and the ndt7 result carries no MinRTT to take it from"
        raise ItemInvalid([FieldProblem(field=f"{where}.Latency", message=missing)])
    fields = {
        "uuid": measurement_uuid(payload),
        "school_id": school_id,
        "measured_at": in_utc(payload.timestamp),
        "download_mbps": payload.download_kbps / KBPS_PER_MBPS,
        "upload_mbps": payload.upload_kbps / KBPS_PER_MBPS,
        "latency_ms": latency,
        "source": payload.source,
        "server": _server(payload),
        "app_version": payload.app_version,
        "raw_result": None if raw_nul_free else raw,
    }
    try:
        item = MeasurementIn.model_validate(fields)
    except ValidationError as exc:
        raise ItemInvalid(_problems(exc, where, GIGA_FIELDS)) from None
    item.raw_result = raw
    return item


def to_ping(record: PingRecord, school_id: uuid.UUID, where: str) -> PingIn:
    fields = {
        "uuid": client_uuid(record.app_local_uuid.strip()),
        "school_id": school_id,
        "timestamp": in_utc(record.timestamp),
        "is_connected": record.isConnected,
        "latency_ms": record.latency,
        "error": record.errorMessage,
        "source": "DailyCheckApp",
    }
    try:
        return PingIn.model_validate(fields)
    except ValidationError as exc:
        raise ItemInvalid(_problems(exc, where, PING_FIELDS)) from None


def _problems(exc: ValidationError, where: str, names: dict[str, str]) -> list[FieldProblem]:
    return [
        FieldProblem(field=giga_field(str(e["loc"][0]), where, names), message=e["msg"])
        for e in exc.errors()
    ]
