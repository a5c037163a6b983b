from datetime import date, datetime

from pydantic import BaseModel, Field

from c2r_common.schemas import SchoolCountsByStatus


class DailyOut(BaseModel):
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
    schools_reporting: int


class CountryCounts(BaseModel):
    iso3: str
    schools_total: int
    schools_by_status: SchoolCountsByStatus
    schools_connected_pct: float | None


class RegionConnectivitySummary(BaseModel):
    region: str = Field(description="ITU-D region")
    as_of: datetime
    schools_total: int
    schools_by_status: SchoolCountsByStatus
    schools_connected_pct: float | None
    countries: list[CountryCounts] = Field(description="countries of the region with schools")
