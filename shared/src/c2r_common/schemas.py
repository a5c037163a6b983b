"""Enums and DTOs that cross service boundaries."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from c2r_common.reference import country_by_iso3


def known_country_code(value: str) -> str:
    """An ISO alpha-3 code of the reference data, upper-cased; anything else is refused."""
    if country_by_iso3(value) is None:
        raise ValueError(f"unknown ISO alpha-3 country code {value!r}")
    return value.upper()


CountryIso3 = Annotated[
    str,
    StringConstraints(min_length=3, max_length=3),
    AfterValidator(known_country_code),
    Field(description="ISO 3166-1 alpha-3 code", examples=["RWA"]),
]


class C2RPhase(StrEnum):
    """The five phases of the Connect2Recover approach, in order."""

    METHODOLOGY = "methodology"
    ASSESSMENT = "assessment"
    NATIONAL_STRATEGY = "national_strategy"  # national ICT strategies and NETPs
    PILOT = "pilot"
    DEEP_DIVE = "deep_dive"  # deep-dive studies, e.g. early warning


class SG1Question(StrEnum):
    """ITU-D Study Group 1 Questions the C2R phases map to."""

    Q1_1 = "Q1/1"  # broadband strategies and policies
    Q3_1 = "Q3/1"  # ICTs for disaster risk reduction and emergency response; NETPs
    Q4_1 = "Q4/1"  # economic policies and costs of services
    Q5_1 = "Q5/1"  # telecommunications/ICTs for rural and remote areas


SG1_QUESTION_TITLES: dict[SG1Question, str] = {
    SG1Question.Q1_1: "Strategies and policies for the deployment of broadband",
    SG1Question.Q3_1: "Telecommunications/ICTs for disaster risk reduction and management",
    SG1Question.Q4_1: "Economic policies and methods of determining the costs of services",
    SG1Question.Q5_1: "Telecommunications/ICTs for rural and remote areas",
}


class AssistanceType(StrEnum):
    """What a Member State may request: the C2R phases plus training and workshops."""

    ASSESSMENT = "assessment"
    NATIONAL_STRATEGY = "national_strategy"
    NETP = "netp"
    PILOT = "pilot"
    DEEP_DIVE = "deep_dive"
    TRAINING = "training"
    WORKSHOP = "workshop"


class ConnectivityStatus(StrEnum):
    """Giga's live-layer classification of a school by download speed."""

    GOOD = "good"  # above the benchmark (20 Mbps globally)
    MODERATE = "moderate"  # 1 Mbps to the benchmark, inclusive
    BAD = "bad"  # below 1 Mbps ("no internet")
    UNKNOWN = "unknown"  # no data


class SchoolCountsByStatus(BaseModel):
    good: int = 0
    moderate: int = 0
    bad: int = 0
    unknown: int = 0


class CountryConnectivitySummary(BaseModel):
    """How connected a country's schools are: served by school-monitor at
    `GET /v1/connectivity/countries/{iso3}`, read by assessment-api when scoring."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "iso3": "RWA",
                    "as_of": "2026-12-02T08:07:52.060138Z",
                    "schools_total": 1,
                    "schools_by_status": {"good": 0, "moderate": 1, "bad": 0, "unknown": 0},
                    "schools_connected_pct": 100.0,
                    "schools_reporting_24h": 1,
                    "download_mbps_median": 4.2,
                    "download_mbps_mean": 4.199999999999999,
                    "upload_mbps_median": 8.1234,
                    "upload_mbps_mean": 8.1234,
                    "latency_ms_median": 41.0,
                    "benchmark_download_mbps": 20.0,
                    "last_measurement_date": "2026-12-02",
                    "schools_with_data": 1,
                    "has_measurements": True,
                    "data_age_days": 0,
                }
            ]
        }
    )

    iso3: str = Field(min_length=3, max_length=3, examples=["RWA"])
    as_of: datetime = Field(description="when the summary was computed (UTC)")
    schools_total: int = Field(ge=0)
    schools_by_status: SchoolCountsByStatus
    schools_connected_pct: float | None = Field(
        None, ge=0, le=100, description="share of schools with good or moderate connectivity"
    )
    schools_reporting_24h: int = Field(ge=0, description="schools with data in the last 24 h")
    download_mbps_median: float | None = None
    download_mbps_mean: float | None = None
    upload_mbps_median: float | None = None
    upload_mbps_mean: float | None = None
    latency_ms_median: float | None = None
    benchmark_download_mbps: float = Field(20.0, description="the 'good' threshold applied")
    last_measurement_date: date | None = None
    # Optional so that a summary from an older school-monitor still reads: without them a
    # reader falls back on `last_measurement_date` being null.
    schools_with_data: int | None = Field(
        None, ge=0, description="schools with at least one measurement"
    )
    has_measurements: bool | None = Field(
        None,
        description="false when no school of the country has sent a measurement: the "
        "status counts are then all 'unknown' and schools_connected_pct says nothing",
    )
    data_age_days: int | None = Field(
        None, ge=0, description="days from last_measurement_date to as_of (null: no data)"
    )
