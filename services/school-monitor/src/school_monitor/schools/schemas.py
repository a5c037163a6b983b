import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from c2r_common.fields import NonNegativeInt32, NoNulStr, Omittable, StrictBool, StrictFloat
from c2r_common.schemas import ConnectivityStatus, CountryIso3

# A tag is stored as `^[a-z0-9][a-z0-9._-]{0,63}$`; it is accepted in any case, with
# surrounding spaces (a spreadsheet's cells), and normalised. The pattern the OpenAPI
# document shows is the one accepted, so that clients and fuzzers see the rule applied.
TAG_INPUT_PATTERN = r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{0,63}\s*$"


def _normalise_tag(value: str) -> str:
    return value.strip().lower()


Tag = Annotated[str, StringConstraints(pattern=TAG_INPUT_PATTERN), AfterValidator(_normalise_tag)]


class SchoolFields(BaseModel):
    """Master data that can change after registration (Giga's column names in brackets)."""

    government_id: NoNulStr | None = Field(None, max_length=64, description="school_id_govt")
    name: NoNulStr = Field(min_length=1, max_length=300, description="school_name")
    admin1: NoNulStr | None = Field(None, max_length=200)
    admin2: NoNulStr | None = Field(None, max_length=200)
    latitude: StrictFloat | None = Field(None, ge=-90, le=90)
    longitude: StrictFloat | None = Field(None, ge=-180, le=180)
    education_level: NoNulStr | None = Field(None, max_length=100)
    connectivity_type: NoNulStr | None = Field(None, max_length=100)
    electricity_availability: StrictBool | None = None
    num_students: NonNegativeInt32 | None = None
    num_computers: NonNegativeInt32 | None = None
    download_speed_contracted: StrictFloat | None = Field(None, ge=0, description="Mbps")
    tags: list[Tag] = Field(
        default_factory=list,
        max_length=50,
        description="labels such as refugee-hosting, teacher-training or a pilot's name",
    )


class SchoolIn(SchoolFields):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "giga_id": "5f2c0a3e-rwa-0001",
                    "government_id": "RW-100234",
                    "name": "GS Kigeme",
                    "country_iso3": "RWA",
                    "admin1": "Southern Province",
                    "admin2": "Nyamagabe",
                    "latitude": -2.47,
                    "longitude": 29.52,
                    "education_level": "Primary and Secondary",
                    "tags": ["refugee-hosting", "giga-pilot-2021"],
                }
            ]
        }
    )

    giga_id: NoNulStr = Field(min_length=1, max_length=64, description="school_id_giga")
    country_iso3: CountryIso3


class SchoolUpdate(BaseModel):
    """A partial update: only the fields given change (the Giga id and country do not);
    null clears a field, except the name and the tags (send [] to clear those)."""

    model_config = ConfigDict(extra="forbid")

    government_id: NoNulStr | None = Field(None, max_length=64)
    name: Omittable[NoNulStr] = Field(None, min_length=1, max_length=300)
    admin1: NoNulStr | None = Field(None, max_length=200)
    admin2: NoNulStr | None = Field(None, max_length=200)
    latitude: StrictFloat | None = Field(None, ge=-90, le=90)
    longitude: StrictFloat | None = Field(None, ge=-180, le=180)
    education_level: NoNulStr | None = Field(None, max_length=100)
    connectivity_type: NoNulStr | None = Field(None, max_length=100)
    electricity_availability: StrictBool | None = None
    num_students: NonNegativeInt32 | None = None
    num_computers: NonNegativeInt32 | None = None
    download_speed_contracted: StrictFloat | None = Field(None, ge=0)
    tags: Omittable[list[Tag]] = Field(None, max_length=50)


class SchoolStatusOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    connectivity_status: ConnectivityStatus
    is_online: bool
    status_changed_at: datetime | None
    last_measurement_at: datetime | None
    last_ping_at: datetime | None
    last_seen_at: datetime | None
    latest_download_mbps: float | None
    latest_upload_mbps: float | None
    latest_latency_ms: float | None


class SchoolOut(SchoolIn):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "government_id": "RW-BF83CD",
                    "name": "GS Kigeme",
                    "admin1": "Southern Province",
                    "admin2": "Nyamagabe",
                    "latitude": -2.47,
                    "longitude": 29.52,
                    "education_level": "Primary and Secondary",
                    "connectivity_type": None,
                    "electricity_availability": None,
                    "num_students": None,
                    "num_computers": None,
                    "download_speed_contracted": None,
                    "tags": [],
                    "giga_id": ("3e32d388-d710-4d61-9898-4b45efc7d496"),
                    "country_iso3": "RWA",
                    "id": ("1ffe2ca8-66d5-481f-bf59-6749d51d3e4d"),
                    "created_at": "2026-12-02T08:07:49.719593Z",
                    "updated_at": "2026-12-02T08:07:49.719603Z",
                    "connectivity_status": "moderate",
                    "is_online": True,
                    "last_seen_at": "2026-12-02T08:05:50.070000Z",
                }
            ]
        },
    )

    id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    connectivity_status: ConnectivityStatus
    is_online: bool
    last_seen_at: datetime | None


class SchoolStatusDetail(SchoolStatusOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "connectivity_status": "moderate",
                    "is_online": True,
                    "status_changed_at": "2026-12-02T08:07:50.074196Z",
                    "last_measurement_at": "2026-12-02T08:05:50.070000Z",
                    "last_ping_at": "2026-12-02T08:04:49.758173Z",
                    "last_seen_at": "2026-12-02T08:05:50.070000Z",
                    "latest_download_mbps": 4.2,
                    "latest_upload_mbps": 8.1234,
                    "latest_latency_ms": 41.0,
                    "school_id": ("1ffe2ca8-66d5-481f-bf59-6749d51d3e4d"),
                    "benchmark_download_mbps": 20.0,
                    "uptime_pct_today": 87.5,
                }
            ]
        }
    )

    school_id: uuid.UUID
    benchmark_download_mbps: float
    uptime_pct_today: float | None = Field(
        None, description="connected ping checks / checks today (UTC), null without checks"
    )


class ImportProblem(BaseModel):
    line: int = Field(description="line number in the file, the header being line 1")
    reason: str


class ImportReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rows": 120,
                    "created": 117,
                    "updated": 2,
                    "committed_through_line": 121,
                    "rejected": [{"line": 45, "reason": "giga_id: field required"}],
                    "unknown_columns": ["fiber_node_distance"],
                }
            ]
        }
    )

    rows: int = Field(description="data rows read")
    created: int = Field(description="schools created (committed)")
    updated: int = Field(description="schools updated (committed)")
    committed_through_line: int = Field(
        description="every row up to this line is committed or rejected; when an import "
        "stops part-way, the rows after it were not imported"
    )
    rejected: list[ImportProblem]
    unknown_columns: list[str] = Field(description="columns ignored because they are not known")


class GeoJsonGeometry(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float] = Field(description="[longitude, latitude]")


class GeoJsonFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: uuid.UUID
    geometry: GeoJsonGeometry | None
    properties: dict[str, Any]


class GeoJsonFeatureCollection(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "id": ("1ffe2ca8-66d5-481f-bf59-6749d51d3e4d"),
                            "geometry": None,
                            "properties": {
                                "giga_id": ("3e32d388-d710-4d61-9898-4b45efc7d496"),
                                "name": "GS Kigeme",
                                "country_iso3": "RWA",
                                "admin1": "Southern Province",
                                "education_level": None,
                                "connectivity_status": "moderate",
                                "is_online": True,
                                "latest_download_mbps": 4.2,
                                "last_seen_at": ("2026-12-02T08:05:50.070000+00:00"),
                                "tags": [],
                            },
                        }
                    ],
                    "next_cursor": None,
                }
            ]
        }
    )

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[GeoJsonFeature]
    next_cursor: str | None = Field(None, description="foreign member: the next page's cursor")
