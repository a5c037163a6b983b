"""Bodies and answers in the shapes the Giga Meter agent sends and reads (upstream's field
names; `id`s are ours, UUIDs where upstream has integers)."""

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from c2r_common.db import utcnow
from c2r_common.fields import NoNulStr

DataT = TypeVar("DataT")


class Envelope(BaseModel, Generic[DataT]):
    """Upstream's `ApiSuccessResponseDto`: the app reads `data`."""

    success: bool = True
    data: DataT
    timestamp: datetime = Field(default_factory=utcnow)
    message: str = "success"


class GigaCountry(BaseModel):
    """A country where the agent may be installed (upstream's `dailycheckapp_country`)."""

    id: str
    code: str = Field(description="ISO alpha-2, as the app sends it")
    code_iso3: str
    name: str
    country_id: str
    created_at: datetime | None


class GigaSchool(BaseModel):
    """A school of the registry as the school search shows it (upstream's SchoolMasterDto)."""

    id: str = Field(description="our school id (a UUID; upstream's is a number)")
    school_id: str | None = Field(description="the government's school id")
    code: str = ""
    name: str
    country_id: str | None = None
    country: str = Field(description="ISO alpha-2")
    location_id: int | None = None
    address: str | None = None
    email: str | None = None
    postal_code: str | None = None
    education_level: str | None
    environment: str | None = None
    admin_1_name: str | None
    admin_2_name: str | None
    admin_3_name: str | None = None
    admin_4_name: str | None = None
    giga_id_school: str


class DeviceRegistrationIn(BaseModel):
    """What the app's confirm-school page posts (v1.0.x; v2 adds the optional tail)."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "giga_id_school": "3f1c2b9e-6d4a-4f57-9c1e-0a8b7d6e5f41",
                    "mac_address": "8f3c1e2a-55b0-4d7e-9a61-2c4b8e0f7d13",
                    "os": "windows",
                    "app_version": "1.0.10",
                    "created": "2026-12-0210:15:00+02:00",
                    "ip_address": "197.243.16.20",
                    "country_code": "RW",
                }
            ]
        },
    )

    giga_id_school: NoNulStr = Field(min_length=1, max_length=64)
    mac_address: NoNulStr | None = Field(
        None, max_length=200, description="the app's installation id (Device.getId)"
    )
    os: NoNulStr | None = Field(None, max_length=100)
    app_version: NoNulStr | None = Field(None, max_length=50)
    created: NoNulStr | None = Field(None, max_length=64, description="the device's local time")
    ip_address: NoNulStr | None = Field(None, max_length=64, description="not stored")
    country_code: NoNulStr | None = Field(None, max_length=8, description="the country selected")
    device_hardware_id: NoNulStr | None = Field(
        None, max_length=200, description="the machine's hardware id (v2)"
    )
    windows_username: NoNulStr | None = Field(None, max_length=500, description="not stored")
    installed_path: NoNulStr | None = Field(None, max_length=1000, description="not stored")
    wifi_connections: list[Any] | None = Field(None, max_length=500, description="not stored")
    geolocation: dict[str, Any] | None = Field(None, description="not stored")
    network_information: NoNulStr | None = Field(None, max_length=5000, description="not stored")


class UserId(BaseModel):
    user_id: str = Field(description="our agent id: the app sends it back as BrowserID")


class RegisteredDevice(BaseModel):
    """A device registered for a school (upstream's SchoolDto): the start-up check."""

    id: str
    user_id: str
    giga_id_school: str
    mac_address: str | None
    os: str | None
    app_version: str | None
    created: str | None
    network_information: str | None = None
    ip_address: str | None = None
    country_code: str
    is_blocked: bool = False
    created_at: datetime
    device_hardware_id: str | None
    is_active: bool = True


class FlaggedSchoolIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    detected_country: NoNulStr | None = Field(None, max_length=8, description="ISO alpha-2")
    selected_country: NoNulStr | None = Field(None, max_length=8, description="ISO alpha-2")
    school_id: NoNulStr | None = Field(None, max_length=64, description="government school id")
    created: NoNulStr | None = Field(None, max_length=64)
    giga_id_school: NoNulStr = Field(min_length=1, max_length=64)


class RecordId(BaseModel):
    id: str


class FlaggedSchoolOut(BaseModel):
    id: str
    detected_country: str
    selected_country: str
    school_id: str | None
    created: str | None
    giga_id_school: str
    created_at: datetime


class DataFixAnswer(BaseModel):
    """Upstream answers its deprecated data fix with this, always empty."""

    code: Literal[200] = 200
    success: bool = True
    timestamp: datetime = Field(default_factory=utcnow)
    data: list[dict[str, Any]] = Field(default_factory=list, max_length=0)


class FeatureFlags(BaseModel):
    """Upstream's FeatureFlagDto; the app stores it and reads `pingService`."""

    feature_flag: bool | None = None
    feature_flag_2: bool | None = None
    pingService: bool = True  # the app's name


class ExistingInstallation(BaseModel):
    """v2: a machine already registered, found by its hardware id after a reinstall."""

    exists: bool
    user_id: str | None = None
    school_id: str | None = None
    giga_id_school: str | None = None
    mac_address: str | None = None
    os: str | None = None
    ip_address: str | None = None
    app_version: str | None = None
    country_code: str | None = None
    source: str | None = None
    schoolInfo: GigaSchool | None = None  # the app's name
    is_active: bool | None = None


class DeviceStatus(BaseModel):
    is_active: bool = Field(description="false only for a device deactivated")
    message: str
    exists: bool


class DeactivateIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    device_hardware_id: NoNulStr = Field(min_length=1, max_length=200)
    giga_id_school: NoNulStr = Field(min_length=1, max_length=64)


class DeviceSchoolStatusIn(BaseModel):
    """v2's kill switch asks, every minute, whether its school and device are still active."""

    model_config = ConfigDict(extra="ignore")

    device_hardware_id: NoNulStr | None = Field(None, max_length=200)
    external_id: NoNulStr | None = Field(None, max_length=64, description="government id")
    giga_id_school: NoNulStr | None = Field(None, max_length=64)


class DeviceSchoolStatus(BaseModel):
    """`isActive: false` makes the app wipe its storage: only a school or device gone."""

    isActive: bool  # the app's name
    message: str
    school: GigaSchool | None = None
    devices: list[RegisteredDevice] = Field(default_factory=list)


class ProtocolConfig(BaseModel):
    """Which speed test the v2 app runs; this service knows of M-Lab's ndt7 only."""

    measurementProviders: list[str] = Field(default_factory=lambda: ["mlab"])  # the app's name
    betweenTestsDelaySec: int = 0  # the app's name
    configSource: Literal["school", "country", "default"] = "default"  # the app's name


class Deactivated(BaseModel):
    deactivated: bool
    message: str


class IpMetadata(BaseModel):
    """The ipinfo.io-like document the v2 app reads (no envelope, every field a string)."""

    ip: str
    hostname: str = ""
    city: str = ""
    region: str = ""
    country: str = Field("", description="ISO alpha-2, when the caller's credential names one")
    loc: str = ""
    org: str = ""
    postal: str = ""
    timezone: str = ""
    asn: str = ""
    source: str


class GeolocateIn(BaseModel):
    """Google's geolocation request, as the v2 app builds it from the Wi-Fi around it."""

    model_config = ConfigDict(extra="ignore")

    considerIp: StrictBool | None = None  # Google's names
    wifiAccessPoints: list[dict[str, Any]] = Field(default_factory=list, max_length=500)


class GeolocateAnswer(BaseModel):
    """Google's answer shape; no location is known here, so both are null."""

    location: dict[str, float] | None = None
    accuracy: float | None = None
