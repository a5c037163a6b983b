"""The answers of the Giga Meter backend's measurement reads, key for key.

`MeasurementV2` is what Giga Maps builds its DailyCheckAppMeasurementData model from
(`model(**item)` in proco/data_sources/utils.py): exactly these keys, no other, speeds in
kbps, latency a whole number of ms, school_id never null.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class OrderBy(StrEnum):
    TIMESTAMP = "timestamp"
    TIMESTAMP_DESC = "-timestamp"
    CREATED_AT = "created_at"
    CREATED_AT_DESC = "-created_at"


class FilterBy(StrEnum):
    TIMESTAMP = "timestamp"
    CREATED_AT = "created_at"


class FilterCondition(StrEnum):
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    EQ = "eq"


class MeasurementV2(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timestamp: datetime
    browserId: str | None
    school_id: str = Field(description="the government school id; empty when unknown")
    download: float | None = Field(description="kbps")
    upload: float | None = Field(description="kbps")
    latency: int | None = Field(description="ms")
    giga_id_school: str | None
    country_code: str | None = Field(description="ISO alpha-2 of the school's country")
    ip_address: str | None
    app_version: str | None
    source: str
    created_at: datetime = Field(description="when it was received")


class MeasurementDto(BaseModel):
    """An item of GET /api/v1/measurements: the Giga Meter payload as stored."""

    id: str
    Timestamp: datetime
    UUID: str
    BrowserID: str | None = None
    DeviceType: str | None = None
    Notes: str | None = None
    ClientInfo: dict[str, Any] | None = None
    ServerInfo: dict[str, Any] | None = None
    annotation: str | None = None
    Download: float
    Upload: float
    Latency: int
    Results: dict[str, Any] | None = Field(None, description="without ConnectionInfo")
    DataDownloaded: int | None = None
    DataUploaded: int | None = None
    DataUsage: int | None = None
    giga_id_school: str
    country_code: str | None
    ip_address: str | None = None
    app_version: str | None
    source: str
    created_at: datetime
    school_id: str


class FailedMeasurementDto(BaseModel):
    """An item of GET /api/v1/measurements/failed."""

    id: str
    Timestamp: Any = None
    UUID: str | None
    BrowserID: Any = None
    school_id: Any = None
    DeviceType: Any = None
    Notes: Any = None
    ClientInfo: Any = None
    ServerInfo: Any = None
    annotation: Any = None
    Download: Any = None
    Upload: Any = None
    Latency: Any = None
    Results: Any = None
    giga_id_school: str | None
    country_code: str | None
    ip_address: Any = None
    app_version: Any = None
    source: str
    created_at: datetime
    reason: str
    detail: str


T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    """The Giga Meter backend's envelope of reads."""

    success: bool
    data: T
    timestamp: datetime
    message: str
