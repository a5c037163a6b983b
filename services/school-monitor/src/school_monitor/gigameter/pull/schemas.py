"""The answers of the Giga Meter backend's measurement reads, key for key.

`MeasurementV2` is what Giga Maps builds its DailyCheckAppMeasurementData model from
(`model(**item)` in proco/data_sources/utils.py): exactly these keys, no other, speeds in
kbps, latency a whole number of ms, school_id never null.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from c2r_common.pagination import example_of


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
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "timestamp": "2026-12-02T08:05:50.070000Z",
                    "browserId": ("be63e905-a5b6-40e7-a80c-71ec2629b2bd"),
                    "school_id": "RW-BF83CD",
                    "download": 4200.0,
                    "upload": 8123.4,
                    "latency": 41,
                    "giga_id_school": ("3e32d388-d710-4d61-9898-4b45efc7d496"),
                    "country_code": "RW",
                    "ip_address": "197.243.0.1",
                    "app_version": "1.0.10",
                    "source": "DailyCheckApp",
                    "created_at": "2026-12-02T08:07:50.074196Z",
                }
            ]
        },
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": ("2e2b1371-8484-4b76-82b8-806f3a95dc89"),
                    "Timestamp": "2026-12-02T08:05:50.070000Z",
                    "UUID": ("2e2b1371-8484-4b76-82b8-806f3a95dc89"),
                    "BrowserID": ("be63e905-a5b6-40e7-a80c-71ec2629b2bd"),
                    "DeviceType": "windows",
                    "Notes": "",
                    "ClientInfo": {
                        "Country": "KE",
                        "Hostname": "",
                        "Latitude": -1.9441,
                        "Longitude": 30.0619,
                        "ISP": "AS36924 MTN RWANDACELL",
                        "Postal": "",
                        "Region": "Kigali",
                        "Timezone": "Africa/Kigali",
                        "IP": "197.243.0.1",
                        "ASN": "AS36924",
                        "City": "Kigali",
                    },
                    "ServerInfo": {
                        "FQDN": ("ndt-mlab1-nbo01.mlab-oti.measurement-lab.org"),
                        "IPv4": "196.49.14.10",
                        "IPv6": "2001:43f8:1f0::10",
                        "City": "Nairobi",
                        "Country": "KE",
                        "Metro": "nbo",
                        "Site": "nbo01",
                        "URL": (
                            "wss://ndt-mlab1-nbo01.mlab-oti.measurement-lab.org/ndt/v7/download"
                        ),
                    },
                    "annotation": None,
                    "Download": 4200.0,
                    "Upload": 8123.4,
                    "Latency": 41,
                    "Results": {
                        "NDTResult.S2C": {
                            "LastClientMeasurement": {
                                "ElapsedTime": 10.0,
                                "NumBytes": 30512344,
                                "MeanClientMbps": 23.4567,
                            },
                            "LastServerMeasurement": {
                                "BBRInfo": {
                                    "BW": 2932087,
                                    "MinRTT": 41000,
                                    "ElapsedTime": 10000000,
                                },
                                "TCPInfo": {
                                    "State": 1,
                                    "RTT": 43500,
                                    "RTTVar": 1800,
                                    "SndCwnd": 120,
                                    "BytesAcked": 30512344,
                                    "BytesReceived": 762808,
                                    "SegsOut": 21072,
                                    "MinRTT": 41000,
                                    "ElapsedTime": 10020000,
                                },
                            },
                        },
                        "NDTResult.C2S": {
                            "LastClientMeasurement": {
                                "ElapsedTime": 10.0,
                                "NumBytes": 10244352,
                                "MeanClientMbps": 8.1234,
                            },
                            "LastServerMeasurement": {
                                "BBRInfo": {
                                    "BW": 1015425,
                                    "MinRTT": 43000,
                                    "ElapsedTime": 10000000,
                                },
                                "TCPInfo": {
                                    "State": 1,
                                    "RTT": 45500,
                                    "RTTVar": 1800,
                                    "SndCwnd": 120,
                                    "BytesAcked": 10244352,
                                    "BytesReceived": 256108,
                                    "SegsOut": 7074,
                                    "MinRTT": 43000,
                                    "ElapsedTime": 10020000,
                                },
                            },
                        },
                    },
                    "DataDownloaded": 30512344,
                    "DataUploaded": 256108,
                    "DataUsage": 30768452,
                    "giga_id_school": ("3e32d388-d710-4d61-9898-4b45efc7d496"),
                    "country_code": "RW",
                    "ip_address": "197.243.0.1",
                    "app_version": "1.0.10",
                    "source": "DailyCheckApp",
                    "created_at": "2026-12-02T08:07:50.074196Z",
                    "school_id": "RW-BF83CD",
                }
            ]
        }
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": ("f7adc788-0198-41c8-8b77-d6af28a91018"),
                    "Timestamp": "2026-12-02T08:05:50.085Z",
                    "UUID": ("c315f1f9-642b-4e78-8050-b5d8d65bd9e8"),
                    "BrowserID": ("be63e905-a5b6-40e7-a80c-71ec2629b2bd"),
                    "school_id": "RW-100234",
                    "DeviceType": "windows",
                    "Notes": "",
                    "ClientInfo": {
                        "Country": "RW",
                        "Hostname": "",
                        "Latitude": -1.9441,
                        "Longitude": 30.0619,
                        "ISP": "AS36924 MTN RWANDACELL",
                        "Postal": "",
                        "Region": "Kigali",
                        "Timezone": "Africa/Kigali",
                        "IP": "197.243.0.1",
                        "ASN": "AS36924",
                        "City": "Kigali",
                    },
                    "ServerInfo": {
                        "FQDN": ("ndt-mlab1-nbo01.mlab-oti.measurement-lab.org"),
                        "IPv4": "196.49.14.10",
                        "IPv6": "2001:43f8:1f0::10",
                        "City": "Nairobi",
                        "Country": "KE",
                        "Metro": "nbo",
                        "Site": "nbo01",
                        "URL": (
                            "wss://ndt-mlab1-nbo01.mlab-oti.measurement-lab.org/ndt/v7/download"
                        ),
                    },
                    "annotation": "",
                    "Download": 23456.7,
                    "Upload": 8123.400000000001,
                    "Latency": "42",
                    "Results": {
                        "NDTResult.S2C": {
                            "LastClientMeasurement": {
                                "ElapsedTime": 10.0,
                                "NumBytes": 30512344,
                                "MeanClientMbps": 23.4567,
                            },
                            "LastServerMeasurement": {
                                "BBRInfo": {
                                    "BW": 2932087,
                                    "MinRTT": 41000,
                                    "ElapsedTime": 10000000,
                                },
                                "TCPInfo": {
                                    "State": 1,
                                    "RTT": 43500,
                                    "RTTVar": 1800,
                                    "SndCwnd": 120,
                                    "BytesAcked": 30512344,
                                    "BytesReceived": 762808,
                                    "SegsOut": 21072,
                                    "MinRTT": 41000,
                                    "ElapsedTime": 10020000,
                                },
                            },
                        },
                        "NDTResult.C2S": {
                            "LastClientMeasurement": {
                                "ElapsedTime": 10.0,
                                "NumBytes": 10244352,
                                "MeanClientMbps": 8.1234,
                            },
                            "LastServerMeasurement": {
                                "BBRInfo": {
                                    "BW": 1015425,
                                    "MinRTT": 43000,
                                    "ElapsedTime": 10000000,
                                },
                                "TCPInfo": {
                                    "State": 1,
                                    "RTT": 45500,
                                    "RTTVar": 1800,
                                    "SndCwnd": 120,
                                    "BytesAcked": 10244352,
                                    "BytesReceived": 256108,
                                    "SegsOut": 7074,
                                    "MinRTT": 43000,
                                    "ElapsedTime": 10020000,
                                },
                            },
                        },
                    },
                    "giga_id_school": ("b96d9e0c-8d8a-481e-97f6-a6acecef658b"),
                    "country_code": "RW",
                    "ip_address": "197.243.0.1",
                    "app_version": "1.0.10",
                    "source": "DailyCheckApp",
                    "created_at": "2026-12-02T08:07:50.094025Z",
                    "reason": "unknown_school",
                    "detail": ("No school with Giga id 'b96d9e0c-8d8a-481e-97f6-a6acecef658b'."),
                }
            ]
        }
    )

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

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # The envelope of its data's own example, so that every answer documents one.
        schema = handler(core_schema)
        data = example_of(cls.model_fields["data"].annotation)
        if data is not None:
            envelope = {"success": True, "data": data, "message": "success"}
            schema["examples"] = [envelope | {"timestamp": "2026-06-10T08:00:00Z"}]
        return schema
