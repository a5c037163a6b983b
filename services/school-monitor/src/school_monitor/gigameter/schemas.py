"""The Giga Meter (formerly Daily Check App) payloads, as its released agents send them.

Field names are the wire's. The agent's inputs are looser than our native ones, and each
looseness is read the way the agent means it: `Latency` may be a string, "NaN" or null
(v1.0.x computes it with toFixed, which gives "NaN" when the ndt7 result lacks BBR data),
`UUID` and `country_code` may be empty. Everything else is checked as strictly as a native
push: a boolean or a non-finite number where a speed belongs is refused.
"""

import math
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from c2r_common.fields import NoNulStr
from school_monitor.measurements.schemas import MAX_MBPS, MAX_MS

MAX_RECORDS = 5_000
MAX_KBPS = MAX_MBPS * 1000  # the native bounds, in the agent's units


def _number(value: Any) -> Any:
    """JSON numbers and numeric strings; never a boolean (pydantic would read true as 1)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, float | int) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if isinstance(value, str) and not math.isfinite(_parsed(value)):
        raise ValueError("must be a finite number")
    return value


def _parsed(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0  # not a number at all: the float validator names it


def _latency(value: Any) -> Any:
    """A number of milliseconds, a numeric string, or "NaN"/null for "not measured"."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("nan", "")):
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return _number(value)


Number = Annotated[float, BeforeValidator(_number)]
# What _latency takes, for the document: a number, a numeric string or "NaN", or null.
LATENCY_FORMS: list[Any] = [
    {"type": "number", "minimum": 0, "maximum": 60_000},
    {"type": "string", "pattern": r"^\s*(NaN|nan|\+?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)?\s*$"},
    {"type": "null"},
]
Latency = Annotated[float | None, BeforeValidator(_latency)]


class GigaMeterMeasurement(BaseModel):
    """One speed test: speeds in kbps, latency in ms, ISO alpha-2 country (or empty)."""

    model_config = ConfigDict(
        extra="ignore",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "Timestamp": "2026-11-24T09:15:00.000Z",
                    "UUID": "0b0f8a39-2a53-4a8c-9d5b-2f0c1e6f3a10",
                    "BrowserID": "b1e8d3c0-5f7e-4c55-9a7b-7c5d1c0e2a44",
                    "DeviceType": "windows",
                    "Download": 23456.7,
                    "Upload": 8123.4,
                    "Latency": "41",
                    "Results": {"NDTResult.S2C": {}, "NDTResult.C2S": {}},
                    "ClientInfo": {"IP": "197.243.0.1", "ASN": "AS36924", "Country": "RW"},
                    "ServerInfo": {"FQDN": "ndt-mlab1-nbo01.mlab-oti.measurement-lab.org"},
                    "giga_id_school": "5f2c0a3e-rwa-0001",
                    "school_id": "RW-100234",
                    "country_code": "RW",
                    "app_version": "1.0.10",
                    "source": "DailyCheckApp",
                }
            ]
        },
    )

    timestamp: datetime = Field(alias="Timestamp")
    uuid: NoNulStr = Field(
        "",
        alias="UUID",
        max_length=64,
        description="the ndt7 test's UUID; empty: an id is derived from the measurement",
    )
    download_kbps: Number = Field(alias="Download", ge=0, le=MAX_KBPS)
    upload_kbps: Number = Field(alias="Upload", ge=0, le=MAX_KBPS)
    latency_ms: Latency = Field(
        None,
        alias="Latency",
        ge=0,
        le=MAX_MS,
        json_schema_extra={"anyOf": LATENCY_FORMS},
        description='ms; a string, "NaN" or null is accepted: app versions from 1.0.9 on '
        "have it taken from the ndt7 result (MinRTT of the download)",
    )
    results: dict[str, Any] | None = Field(None, alias="Results")
    client_info: dict[str, Any] | None = Field(None, alias="ClientInfo")
    server_info: dict[str, Any] | None = Field(None, alias="ServerInfo")
    browser_id: NoNulStr | None = Field(None, alias="BrowserID", max_length=200)
    device_type: NoNulStr | None = Field(None, alias="DeviceType", max_length=100)
    notes: NoNulStr | None = Field(None, alias="Notes", max_length=2000)
    giga_id_school: NoNulStr = Field(max_length=64)
    school_id: NoNulStr | None = Field(None, max_length=64, description="government school id")
    country_code: NoNulStr | None = Field(
        None,
        max_length=3,
        description="ISO alpha-2 (or alpha-3); v1.0.10 sends its IP address's country, "
        "which may differ from the school's: stored for the school, and flagged",
    )
    ip_address: NoNulStr | None = Field(None, max_length=64)
    app_version: NoNulStr | None = Field(None, max_length=50)
    source: NoNulStr = Field("DailyCheckApp", min_length=1, max_length=50)


class GigaMeterAck(BaseModel):
    """The envelope Giga Meter's own backend answers with."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "success": True,
                    "data": {
                        "status": "stored",
                        "uuid": ("0bb780d4-a497-4ec8-811b-3f86d76f84be"),
                        "school_id": ("1ffe2ca8-66d5-481f-bf59-6749d51d3e4d"),
                    },
                    "timestamp": "2026-12-02T08:07:50.002127Z",
                    "message": "success",
                }
            ]
        }
    )

    success: bool
    data: dict[str, Any]
    timestamp: datetime
    message: str


class PingRecord(BaseModel):
    """One connectivity check of the agent's ping service, as its sync service sends it."""

    model_config = ConfigDict(extra="ignore")

    timestamp: datetime
    isConnected: bool
    errorMessage: NoNulStr | None = Field(None, max_length=500)
    giga_id_school: NoNulStr | None = Field(None, max_length=64, description="ignored: the path's")
    app_local_uuid: NoNulStr = Field(min_length=1, max_length=64)
    browserId: NoNulStr | None = Field(None, max_length=200)
    latency: Latency = Field(None, ge=0, le=MAX_MS, description="ms; null when not connected")


class PingRecords(BaseModel):
    records: list[PingRecord] = Field(max_length=MAX_RECORDS)


class BacklogBody(BaseModel):
    """The OpenAPI of the backlog body: a bare array of measurements."""

    items: list[GigaMeterMeasurement] = Field(min_length=1, max_length=MAX_RECORDS)


class MeasurementFlagOut(BaseModel):
    """A data-quality flag on a stored measurement."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "measurement_uuid": ("2e2b1371-8484-4b76-82b8-806f3a95dc89"),
                    "kind": "country_mismatch",
                    "school_id": ("1ffe2ca8-66d5-481f-bf59-6749d51d3e4d"),
                    "country_iso3": "RWA",
                    "detail": (
                        "country_code KE (KEN) is "
                        "not the school's country "
                        "RWA; stored for the school "
                        "its Giga id names."
                    ),
                    "created_at": "2026-12-02T08:07:50.074196Z",
                }
            ]
        },
    )

    measurement_uuid: uuid.UUID
    kind: str = Field(description="country_mismatch: the agent named another country")
    school_id: uuid.UUID
    country_iso3: str = Field(description="the school's country")
    detail: str
    created_at: datetime
