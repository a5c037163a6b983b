"""The Giga Meter (formerly Daily Check App) measurement payload, as its agents send it."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class GigaMeterMeasurement(BaseModel):
    """Field names as on the wire: speeds in kbps, latency in ms, ISO alpha-2 country."""

    model_config = ConfigDict(
        extra="allow",
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
                    "Latency": 41,
                    "Results": {"NDTResult.S2C": {}, "NDTResult.C2S": {}},
                    "ClientInfo": {"IP": "197.243.0.1", "ASN": "AS36924", "Country": "RW"},
                    "ServerInfo": {"FQDN": "ndt-mlab1-nbo01.mlab-oti.measurement-lab.org"},
                    "giga_id_school": "5f2c0a3e-rwa-0001",
                    "school_id": "RW-100234",
                    "country_code": "RW",
                    "app_version": "4.1.2",
                    "source": "DailyCheckApp",
                }
            ]
        },
    )

    timestamp: datetime = Field(alias="Timestamp")
    uuid: str = Field(alias="UUID", min_length=1, max_length=64)
    download_kbps: float = Field(alias="Download", ge=0)
    upload_kbps: float = Field(alias="Upload", ge=0)
    latency_ms: float = Field(alias="Latency", ge=0)
    results: dict[str, Any] | None = Field(None, alias="Results")
    client_info: dict[str, Any] | None = Field(None, alias="ClientInfo")
    server_info: dict[str, Any] | None = Field(None, alias="ServerInfo")
    browser_id: str | None = Field(None, alias="BrowserID", max_length=200)
    device_type: str | None = Field(None, alias="DeviceType", max_length=100)
    notes: str | None = Field(None, alias="Notes", max_length=2000)
    giga_id_school: str = Field(min_length=1, max_length=64)
    school_id: str | None = Field(None, max_length=64, description="government school id")
    country_code: str = Field(min_length=2, max_length=2, description="ISO 3166 alpha-2")
    ip_address: str | None = Field(None, max_length=64)
    app_version: str | None = Field(None, max_length=50)
    source: str = Field("DailyCheckApp", max_length=50)


class GigaMeterAck(BaseModel):
    """The envelope Giga Meter's own backend answers with."""

    success: bool
    data: dict[str, Any]
    timestamp: datetime
    message: str
