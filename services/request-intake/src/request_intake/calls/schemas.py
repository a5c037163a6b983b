import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from c2r_common.fields import JsonInteger, LocalOrAwareDatetime, NoNulStr, Omittable
from c2r_common.reference import ItuRegion, country_by_iso3
from c2r_common.schemas import AssistanceType
from request_intake.calls.rules import CallState, localize, zone

MAX_GRACE_MINUTES = 30 * 24 * 60
GraceMinutes = Annotated[int, Field(ge=0, le=MAX_GRACE_MINUTES), JsonInteger]
RequestLimit = Annotated[int, Field(ge=1, le=1000), JsonInteger]


class CallIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Connect2Recover technical assistance for African Member States",
                    "description": "Requests following the information session of 2 May 2023.",
                    "assistance_types": ["assessment", "national_strategy", "training"],
                    "eligible_regions": ["Africa"],
                    "time_zone": "Europe/Geneva",
                    "opens_at": "2023-05-02T09:00:00",
                    "closes_at": "2023-05-19T23:59:59",
                    "grace_period_minutes": 0,
                    "max_requests_per_country": 2,
                }
            ]
        }
    )

    title: NoNulStr = Field(min_length=1, max_length=300)
    description: NoNulStr = Field("", max_length=20_000)
    assistance_types: list[AssistanceType] = Field(
        min_length=1, description="the C2R phases plus training and workshops offered"
    )
    eligible_regions: list[ItuRegion] = Field(
        default_factory=list, description="ITU-D regions; empty with no countries: open to all"
    )
    eligible_countries: list[str] = Field(
        default_factory=list, description="ISO alpha-3 codes eligible besides the regions"
    )
    time_zone: NoNulStr = Field(
        "Europe/Geneva", max_length=100, description="IANA time zone of the deadlines"
    )
    opens_at: LocalOrAwareDatetime = Field(
        description="with an offset, or a wall-clock time in time_zone"
    )
    closes_at: LocalOrAwareDatetime = Field(
        description="the deadline; submissions at this instant count"
    )
    grace_period_minutes: GraceMinutes = Field(
        0, description="late submissions accepted and flagged"
    )
    max_requests_per_country: RequestLimit | None = None
    sla_calendar: NoNulStr | None = Field(
        None,
        max_length=100,
        description="the organisation calendar its requests' SLAs count on (none: default)",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("eligible_countries")
    @classmethod
    def _known_countries(cls, value: list[str]) -> list[str]:
        unknown = [code for code in value if country_by_iso3(code) is None]
        if unknown:
            raise ValueError(f"unknown ISO alpha-3 country code(s): {', '.join(unknown)}")
        return sorted({code.upper() for code in value})

    @model_validator(mode="after")
    def _in_time_zone_and_ordered(self) -> Self:
        self.opens_at = localize(self.opens_at, self.time_zone)
        self.closes_at = localize(self.closes_at, self.time_zone)
        if self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at")
        return self


class CallUpdate(BaseModel):
    """Changes to a call, e.g. a deadline extended; fields left out keep their value, and
    only `max_requests_per_country` may be null (no limit)."""

    # A field that cannot be changed here (opens_at, time_zone) is refused, not ignored.
    model_config = ConfigDict(extra="forbid")

    title: Omittable[NoNulStr] = Field(None, min_length=1, max_length=300)
    description: Omittable[NoNulStr] = Field(None, max_length=20_000)
    closes_at: Omittable[LocalOrAwareDatetime] = Field(
        None, description="with an offset, or a wall-clock time in the call's time zone"
    )
    grace_period_minutes: Omittable[GraceMinutes] = None
    max_requests_per_country: RequestLimit | None = None


class CallOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": ("cc028985-9916-412b-8ff9-799cf8228c60"),
                    "title": ("Connect2Recover technical assistance for African Member States"),
                    "description": "",
                    "assistance_types": ["assessment", "national_strategy"],
                    "eligible_regions": ["Africa"],
                    "eligible_countries": [],
                    "time_zone": "Europe/Geneva",
                    "opens_at": ("2026-12-01T09:07:49.379270+01:00"),
                    "closes_at": ("2027-01-01T09:07:49.379270+01:00"),
                    "grace_period_minutes": 0,
                    "accepts_until": ("2027-01-01T09:07:49.379270+01:00"),
                    "max_requests_per_country": 50,
                    "sla_calendar": None,
                    "state": "open",
                    "created_at": "2026-12-02T08:07:49.450290Z",
                }
            ]
        }
    )

    id: uuid.UUID
    title: str
    description: str
    assistance_types: list[AssistanceType]
    eligible_regions: list[ItuRegion]
    eligible_countries: list[str]
    time_zone: str
    opens_at: datetime = Field(description="in the call's time zone")
    closes_at: datetime = Field(description="in the call's time zone")
    grace_period_minutes: int
    accepts_until: datetime = Field(description="deadline plus grace, in the call's time zone")
    max_requests_per_country: int | None
    sla_calendar: str | None = Field(description="its SLA calendar; none: the default one")
    state: CallState = Field(description="upcoming, open or closed, from the current time")
    created_at: datetime


class OpenCallEntry(BaseModel):
    """A call as the public feed shows it: what a Member State needs to decide to answer."""

    id: uuid.UUID
    title: str
    assistance_types: list[AssistanceType]
    eligible_regions: list[ItuRegion] = Field(description="empty with no countries: all")
    eligible_countries: list[str]
    time_zone: str = Field(description="the zone the deadline is set in")
    opens_at: datetime = Field(description="in the call's time zone")
    deadline: datetime = Field(description="closes_at, in the call's time zone")
    deadline_utc: datetime


class OpenCallFeed(BaseModel):
    """The calls open now, soonest deadline first; public, cacheable (ETag)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "calls": [
                        {
                            "id": "9a0e5b9c-2c51-4a8e-8f0e-5d3f1c7b2a66",
                            "title": "Connect2Recover technical assistance for Africa",
                            "assistance_types": ["assessment", "training"],
                            "eligible_regions": ["Africa"],
                            "eligible_countries": [],
                            "time_zone": "Europe/Geneva",
                            "opens_at": "2026-06-01T09:00:00+02:00",
                            "deadline": "2026-06-30T23:59:59+02:00",
                            "deadline_utc": "2026-06-30T21:59:59Z",
                        }
                    ]
                }
            ]
        }
    )

    calls: list[OpenCallEntry]
