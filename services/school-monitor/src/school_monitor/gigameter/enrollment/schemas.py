"""Bodies and answers in the shapes the Giga Meter agent sends and reads (upstream's field
names; `id`s are ours, UUIDs where upstream has integers)."""

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, StrictBool
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from c2r_common.db import utcnow
from c2r_common.fields import NoNulStr
from c2r_common.pagination import example_of

DataT = TypeVar("DataT")


class Envelope(BaseModel, Generic[DataT]):
    """Upstream's `ApiSuccessResponseDto`: the app reads `data`."""

    success: bool = True
    data: DataT
    timestamp: datetime = Field(default_factory=utcnow)
    message: str = "success"

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


class GigaCountry(BaseModel):
    """A country where the agent may be installed (upstream's `dailycheckapp_country`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "RWA",
                    "code": "RW",
                    "code_iso3": "RWA",
                    "name": "Rwanda",
                    "country_id": "RWA",
                    "created_at": None,
                }
            ]
        }
    )

    id: str
    code: str = Field(description="ISO alpha-2, as the app sends it")
    code_iso3: str
    name: str
    country_id: str
    created_at: datetime | None


class GigaSchool(BaseModel):
    """A school of the registry as the school search shows it (upstream's SchoolMasterDto)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": ("1ffe2ca8-66d5-481f-bf59-6749d51d3e4d"),
                    "school_id": "RW-BF83CD",
                    "code": "",
                    "name": "GS Kigeme",
                    "country_id": None,
                    "country": "RW",
                    "location_id": None,
                    "address": None,
                    "email": None,
                    "postal_code": None,
                    "education_level": None,
                    "environment": None,
                    "admin_1_name": "Southern Province",
                    "admin_2_name": "Nyamagabe",
                    "admin_3_name": None,
                    "admin_4_name": None,
                    "giga_id_school": ("3e32d388-d710-4d61-9898-4b45efc7d496"),
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_id": ("be63e905-a5b6-40e7-a80c-71ec2629b2bd")}]}
    )

    user_id: str = Field(description="our agent id: the app sends it back as BrowserID")


class RegisteredDevice(BaseModel):
    """A device registered for a school (upstream's SchoolDto): the start-up check."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": ("be63e905-a5b6-40e7-a80c-71ec2629b2bd"),
                    "user_id": ("be63e905-a5b6-40e7-a80c-71ec2629b2bd"),
                    "giga_id_school": ("3e32d388-d710-4d61-9898-4b45efc7d496"),
                    "mac_address": ("2716edeb-fbad-45cc-a5d8-ee99fe840314"),
                    "os": "windows",
                    "app_version": "2.0.2",
                    "created": ("2026-12-02T08:07:49.840037+00:00"),
                    "network_information": None,
                    "ip_address": None,
                    "country_code": "RW",
                    "is_blocked": False,
                    "created_at": "2026-12-02T08:07:49.840037Z",
                    "device_hardware_id": ("4C4C4544-47BC-8050-B4C0-C4C04F4E3332"),
                    "is_active": True,
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": ("94c90937-ff6d-452b-aef0-6a9a48e973ef")}]}
    )

    id: str


class FlaggedSchoolOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": ("94c90937-ff6d-452b-aef0-6a9a48e973ef"),
                    "detected_country": "KE",
                    "selected_country": "RW",
                    "school_id": "RW-BF83CD",
                    "created": "2026-12-0210:15:00+02:00",
                    "giga_id_school": ("3e32d388-d710-4d61-9898-4b45efc7d496"),
                    "created_at": "2026-12-02T08:07:49.858948Z",
                }
            ]
        }
    )

    id: str
    detected_country: str
    selected_country: str
    school_id: str | None
    created: str | None
    giga_id_school: str
    created_at: datetime


class DataFixAnswer(BaseModel):
    """Upstream answers its deprecated data fix with this, always empty."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": 200,
                    "success": True,
                    "timestamp": "2026-12-02T08:07:51.958650Z",
                    "data": [],
                }
            ]
        }
    )

    code: Literal[200] = 200
    success: bool = True
    timestamp: datetime = Field(default_factory=utcnow)
    data: list[dict[str, Any]] = Field(default_factory=list, max_length=0)


class FeatureFlags(BaseModel):
    """Upstream's FeatureFlagDto; the app stores it and reads `pingService`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"feature_flag": None, "feature_flag_2": None, "pingService": True}]
        }
    )

    feature_flag: bool | None = None
    feature_flag_2: bool | None = None
    pingService: bool = True  # the app's name


class ExistingInstallation(BaseModel):
    """v2: a machine already registered, found by its hardware id after a reinstall."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "exists": True,
                    "user_id": ("be63e905-a5b6-40e7-a80c-71ec2629b2bd"),
                    "school_id": "RW-BF83CD",
                    "giga_id_school": ("3e32d388-d710-4d61-9898-4b45efc7d496"),
                    "mac_address": ("2716edeb-fbad-45cc-a5d8-ee99fe840314"),
                    "os": "windows",
                    "ip_address": None,
                    "app_version": "2.0.2",
                    "country_code": "RW",
                    "source": "dailycheckapp_school",
                    "schoolInfo": {
                        "id": ("1ffe2ca8-66d5-481f-bf59-6749d51d3e4d"),
                        "school_id": "RW-BF83CD",
                        "code": "",
                        "name": "GS Kigeme",
                        "country_id": None,
                        "country": "RW",
                        "location_id": None,
                        "address": None,
                        "email": None,
                        "postal_code": None,
                        "education_level": None,
                        "environment": None,
                        "admin_1_name": "Southern Province",
                        "admin_2_name": "Nyamagabe",
                        "admin_3_name": None,
                        "admin_4_name": None,
                        "giga_id_school": ("3e32d388-d710-4d61-9898-4b45efc7d496"),
                    },
                    "is_active": True,
                }
            ]
        }
    )

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
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"is_active": True, "message": "Device is active", "exists": True}]
        }
    )

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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "isActive": True,
                    "message": "Device is active",
                    "school": {
                        "id": ("1ffe2ca8-66d5-481f-bf59-6749d51d3e4d"),
                        "school_id": "RW-BF83CD",
                        "code": "",
                        "name": "GS Kigeme",
                        "country_id": None,
                        "country": "RW",
                        "location_id": None,
                        "address": None,
                        "email": None,
                        "postal_code": None,
                        "education_level": None,
                        "environment": None,
                        "admin_1_name": "Southern Province",
                        "admin_2_name": "Nyamagabe",
                        "admin_3_name": None,
                        "admin_4_name": None,
                        "giga_id_school": ("3e32d388-d710-4d61-9898-4b45efc7d496"),
                    },
                    "devices": [
                        {
                            "id": ("be63e905-a5b6-40e7-a80c-71ec2629b2bd"),
                            "user_id": ("be63e905-a5b6-40e7-a80c-71ec2629b2bd"),
                            "giga_id_school": ("3e32d388-d710-4d61-9898-4b45efc7d496"),
                            "mac_address": ("2716edeb-fbad-45cc-a5d8-ee99fe840314"),
                            "os": "windows",
                            "app_version": "2.0.2",
                            "created": ("2026-12-02T08:07:49.840037+00:00"),
                            "network_information": None,
                            "ip_address": None,
                            "country_code": "RW",
                            "is_blocked": False,
                            "created_at": "2026-12-02T08:07:49.840037Z",
                            "device_hardware_id": ("4C4C4544-47BC-8050-B4C0-C4C04F4E3332"),
                            "is_active": True,
                        }
                    ],
                }
            ]
        }
    )

    isActive: bool  # the app's name
    message: str
    school: GigaSchool | None = None
    devices: list[RegisteredDevice] = Field(default_factory=list)


class ProtocolConfig(BaseModel):
    """Which speed test the v2 app runs; this service knows of M-Lab's ndt7 only."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "measurementProviders": ["mlab"],
                    "betweenTestsDelaySec": 0,
                    "configSource": "default",
                }
            ]
        }
    )

    measurementProviders: list[str] = Field(default_factory=lambda: ["mlab"])  # the app's name
    betweenTestsDelaySec: int = 0  # the app's name
    configSource: Literal["school", "country", "default"] = "default"  # the app's name


class Deactivated(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"deactivated": True, "message": "Device deactivated"}]}
    )

    deactivated: bool
    message: str


class IpMetadata(BaseModel):
    """The ipinfo.io-like document the v2 app reads (no envelope, every field a string)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "ip": "127.0.0.1",
                    "hostname": "",
                    "city": "",
                    "region": "",
                    "country": "RW",
                    "loc": "",
                    "org": "",
                    "postal": "",
                    "timezone": "",
                    "asn": "",
                    "source": "c2r",
                }
            ]
        }
    )

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

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"location": None, "accuracy": None}]}
    )

    location: dict[str, float] | None = None
    accuracy: float | None = None
