from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from c2r_common.schemas import SchoolCountsByStatus


class DailyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "day": "2026-12-02",
                    "measurement_count": 7,
                    "download_mbps_mean": 20.70574285714286,
                    "download_mbps_min": 4.2,
                    "download_mbps_max": 23.4567,
                    "upload_mbps_mean": 8.123400000000002,
                    "upload_mbps_min": 8.1234,
                    "upload_mbps_max": 8.1234,
                    "latency_ms_mean": 41.0,
                    "latency_ms_min": 41.0,
                    "latency_ms_max": 41.0,
                    "ping_count": 8,
                    "uptime_pct": 87.5,
                }
            ]
        }
    )

    day: date
    measurement_count: int
    download_mbps_mean: float | None
    download_mbps_min: float | None
    download_mbps_max: float | None
    upload_mbps_mean: float | None
    upload_mbps_min: float | None
    upload_mbps_max: float | None
    latency_ms_mean: float | None
    latency_ms_min: float | None
    latency_ms_max: float | None
    ping_count: int
    uptime_pct: float | None = Field(description="connected checks / checks; null without checks")


class CountryDailyOut(DailyOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "day": "2026-12-02",
                    "measurement_count": 7,
                    "download_mbps_mean": 20.70574285714286,
                    "download_mbps_min": 4.2,
                    "download_mbps_max": 23.4567,
                    "upload_mbps_mean": 8.123400000000002,
                    "upload_mbps_min": 8.1234,
                    "upload_mbps_max": 8.1234,
                    "latency_ms_mean": 41.0,
                    "latency_ms_min": 41.0,
                    "latency_ms_max": 41.0,
                    "ping_count": 8,
                    "uptime_pct": 87.5,
                    "schools_reporting": 1,
                }
            ]
        }
    )

    schools_reporting: int


class CountryCounts(BaseModel):
    iso3: str
    schools_total: int
    schools_by_status: SchoolCountsByStatus
    schools_connected_pct: float | None


class RegionConnectivitySummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "region": "Africa",
                    "as_of": "2026-12-02T08:07:52.087369Z",
                    "schools_total": 1,
                    "schools_by_status": {"good": 0, "moderate": 1, "bad": 0, "unknown": 0},
                    "schools_connected_pct": 100.0,
                    "countries": [
                        {
                            "iso3": "RWA",
                            "schools_total": 1,
                            "schools_by_status": {"good": 0, "moderate": 1, "bad": 0, "unknown": 0},
                            "schools_connected_pct": 100.0,
                        }
                    ],
                }
            ]
        }
    )

    region: str = Field(description="ITU-D region")
    as_of: datetime
    schools_total: int
    schools_by_status: SchoolCountsByStatus
    schools_connected_pct: float | None
    countries: list[CountryCounts] = Field(description="countries of the region with schools")
