from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from c2r_common.errors import FieldProblem
from c2r_common.fields import NoNulStr, StrictBool, StrictFloat, UtcDatetime

MAX_BATCH_ITEMS = 5_000
MAX_MBPS = 100_000.0  # 100 Gbit/s: above any school link; more is a unit error
MAX_MS = 60_000.0


def _without_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, dict):
        return all(_without_nul(k) and _without_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_without_nul(v) for v in value)
    return True


class MeasurementIn(BaseModel):
    """One speed test as an agent reports it."""

    KIND: ClassVar[str] = "measurement"
    MOMENT_FIELD: ClassVar[str] = "measured_at"

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "uuid": "0b0f8a39-2a53-4a8c-9d5b-2f0c1e6f3a10",
                    "measured_at": "2026-11-24T09:15:00+02:00",
                    "download_mbps": 23.4,
                    "upload_mbps": 8.1,
                    "latency_ms": 41.0,
                    "jitter_ms": 3.2,
                    "packet_loss_pct": 0.0,
                    "source": "native",
                    "server": "ndt-mlab1-nbo01.mlab-oti.measurement-lab.org",
                    "app_version": "4.1.2",
                }
            ]
        },
    )

    uuid: UUID = Field(description="the client's id of the measurement; retries reuse it")
    school_id: UUID | None = Field(
        None, description="the school measured; a device token implies its own school"
    )
    # In UTC from here on: datetimes sharing one tzinfo compare without their offsets.
    measured_at: UtcDatetime
    download_mbps: StrictFloat = Field(ge=0, le=MAX_MBPS)
    upload_mbps: StrictFloat = Field(ge=0, le=MAX_MBPS)
    latency_ms: StrictFloat = Field(ge=0, le=MAX_MS)
    jitter_ms: StrictFloat | None = Field(None, ge=0, le=MAX_MS)
    packet_loss_pct: StrictFloat | None = Field(None, ge=0, le=100)
    source: NoNulStr = Field("native", min_length=1, max_length=50)
    server: NoNulStr | None = Field(None, max_length=300)
    app_version: NoNulStr | None = Field(None, max_length=50)
    raw_result: dict[str, Any] | None = Field(None, description="the raw test result, kept as is")

    @field_validator("raw_result")
    @classmethod
    def _raw_result_storable(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # Kept as JSON: PostgreSQL cannot hold a \u0000 in it, SQLite would; refused alike.
        if value is not None and not _without_nul(value):
            raise ValueError("a text in the raw result holds a NUL character")
        return value

    @property
    def moment(self) -> datetime:
        return self.measured_at


class PingIn(BaseModel):
    """One connectivity check (Giga Meter runs one every 15 minutes)."""

    KIND: ClassVar[str] = "ping"
    MOMENT_FIELD: ClassVar[str] = "timestamp"
    model_config = ConfigDict(extra="ignore")

    uuid: UUID = Field(description="the client's id of the check (app_local_uuid)")
    school_id: UUID | None = None
    timestamp: UtcDatetime
    is_connected: StrictBool
    latency_ms: StrictFloat | None = Field(None, ge=0, le=MAX_MS)
    error: NoNulStr | None = Field(None, max_length=500)
    source: NoNulStr = Field("native", min_length=1, max_length=50)
    app_version: NoNulStr | None = Field(None, max_length=50)

    @property
    def moment(self) -> datetime:
        return self.timestamp


class BatchIn(BaseModel):
    """A batch's envelope: its items are validated one by one, so that a bad item does
    not sink the others."""

    items: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH_ITEMS)


class MeasurementBatchIn(BaseModel):
    items: list[MeasurementIn] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        description="good items are stored, bad ones reported by index and not stored",
    )


class PingBatchIn(BaseModel):
    items: list[PingIn] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        description="good items are stored, bad ones reported by index and not stored",
    )


class ItemProblem(BaseModel):
    index: int
    reason: str = Field(description="invalid, out_of_window or unknown_school")
    errors: list[FieldProblem]


class IngestReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "received": 3,
                    "stored": 2,
                    "duplicates": 0,
                    "rejected": [
                        {
                            "index": 2,
                            "reason": "invalid",
                            "errors": [
                                {
                                    "field": "body.items.2.download_mbps",
                                    "message": ("Input should be greater than or equal to 0"),
                                    "type": "greater_than_equal",
                                }
                            ],
                        }
                    ],
                }
            ]
        }
    )

    received: int
    stored: int = Field(description="items newly stored")
    duplicates: int = Field(description="items already stored before (same UUID): acknowledged")
    rejected: list[ItemProblem] = Field(description="items not stored, by index, with reasons")


class IngestAck(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"uuid": ("0bb780d4-a497-4ec8-811b-3f86d76f84be"), "stored": True}]
        }
    )

    uuid: UUID
    stored: bool = Field(description="false when the same UUID was stored before")


class MeasurementOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "uuid": ("cba3330c-b3f6-493d-b15f-05cbde09d3ca"),
                    "school_id": ("1ffe2ca8-66d5-481f-bf59-6749d51d3e4d"),
                    "measured_at": "2026-12-02T03:04:49.758000Z",
                    "received_at": "2026-12-02T08:07:50.058480Z",
                    "download_mbps": 23.4567,
                    "upload_mbps": 8.1234,
                    "latency_ms": 41.0,
                    "jitter_ms": None,
                    "packet_loss_pct": None,
                    "source": "DailyCheckApp",
                    "server": ("ndt-mlab1-nbo01.mlab-oti.measurement-lab.org"),
                    "app_version": "2.0.2",
                }
            ]
        },
    )

    uuid: UUID
    school_id: UUID
    measured_at: datetime
    received_at: datetime
    download_mbps: float
    upload_mbps: float
    latency_ms: float
    jitter_ms: float | None
    packet_loss_pct: float | None
    source: str
    server: str | None
    app_version: str | None


class FailedMeasurementOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": ("f7adc788-0198-41c8-8b77-d6af28a91018"),
                    "client_uuid": ("c315f1f9-642b-4e78-8050-b5d8d65bd9e8"),
                    "giga_id_school": ("b96d9e0c-8d8a-481e-97f6-a6acecef658b"),
                    "country_code": "RW",
                    "reason": "unknown_school",
                    "detail": ("No school with Giga id 'b96d9e0c-8d8a-481e-97f6-a6acecef658b'."),
                    "received_at": "2026-12-02T08:07:50.094025Z",
                }
            ]
        },
    )

    id: UUID
    client_uuid: str | None
    giga_id_school: str | None
    country_code: str | None
    reason: str
    detail: str
    received_at: datetime
