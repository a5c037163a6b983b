import uuid
from datetime import date
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assessment_api.partners.schemas import ContributionOut
from c2r_common.fields import NoNulStr, StrictDate
from c2r_common.reference import ItuRegion
from c2r_common.schemas import C2RPhase, SG1Question


class PhaseStatus(StrEnum):
    NOT_STARTED = "not_started"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class PilotStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class PhaseIn(BaseModel):
    status: PhaseStatus
    started_on: StrictDate | None = None
    completed_on: StrictDate | None = None
    summary: NoNulStr | None = Field(None, max_length=5000)
    sg1_questions: list[SG1Question] | None = Field(
        None, description="default: the Questions the phase usually maps to"
    )
    request_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=100, description="request-intake request ids"
    )

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.started_on and self.completed_on and self.completed_on < self.started_on:
            raise ValueError("completed_on cannot be before started_on")
        return self


class SG1QuestionOut(BaseModel):
    code: SG1Question
    title: str


class LinkedAssessment(BaseModel):
    id: uuid.UUID
    period: str
    status: str
    methodology_version: int


class PhaseOut(BaseModel):
    phase: C2RPhase
    order: int = Field(ge=1, le=5)
    title: str
    status: PhaseStatus
    recorded: bool = Field(description="false when the status is derived from other data")
    started_on: date | None
    completed_on: date | None
    summary: str | None
    sg1_questions: list[SG1QuestionOut]
    request_ids: list[uuid.UUID]
    assessments: list[LinkedAssessment] = Field(default_factory=list)


class PilotSiteIn(BaseModel):
    school_id: NoNulStr | None = Field(
        None, max_length=100, description="the school's id in school-monitor (Giga id)"
    )
    name: NoNulStr = Field(min_length=1, max_length=300)
    site_type: str = Field(pattern=r"^[a-z][a-z0-9_]{1,59}$", examples=["teacher_training_college"])
    connected_on: StrictDate | None = None
    note: NoNulStr | None = Field(None, max_length=2000)


class PilotSiteOut(PilotSiteIn):
    model_config = ConfigDict(from_attributes=True)

    id: int


class PilotIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Giga school connectivity pilot, phase 1",
                    "status": "completed",
                    "started_on": "2021-01-01",
                    "sites": [
                        {
                            "school_id": "giga-rwa-0001",
                            "name": "School hosting refugees",
                            "site_type": "school_hosting_refugees",
                        }
                    ],
                }
            ]
        }
    )

    name: NoNulStr = Field(min_length=1, max_length=300)
    description: NoNulStr | None = Field(None, max_length=5000)
    status: PilotStatus = PilotStatus.PLANNED
    started_on: StrictDate | None = None
    partner_name: NoNulStr | None = Field(None, max_length=200, examples=["Giga (ITU/UNICEF)"])
    sites: list[PilotSiteIn] = Field(default_factory=list, max_length=1000)


class PilotOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": ("b5fd5a4f-a93b-4fb8-bfa4-f127260a2292"),
                    "country_iso3": "RWA",
                    "name": ("Giga school connectivity pilot, phase 1"),
                    "description": None,
                    "status": "completed",
                    "started_on": "2021-01-01",
                    "partner_name": None,
                    "sites": [
                        {
                            "school_id": "giga-rwa-0001",
                            "name": "GS Kigeme",
                            "site_type": "school_hosting_refugees",
                            "connected_on": None,
                            "note": None,
                            "id": 1,
                        }
                    ],
                }
            ]
        },
    )

    id: uuid.UUID
    country_iso3: str
    name: str
    description: str | None
    status: PilotStatus
    started_on: date | None
    partner_name: str | None
    sites: list[PilotSiteOut]


class ProgrammeCountry(BaseModel):
    iso3: str
    name: str
    itu_region: ItuRegion
    c2r_beneficiary: bool


class ProgrammeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "country": {
                        "iso3": "RWA",
                        "name": "Rwanda",
                        "itu_region": "Africa",
                        "c2r_beneficiary": True,
                    },
                    "phases": [
                        {
                            "phase": "methodology",
                            "order": 1,
                            "title": "Global methodology",
                            "status": "completed",
                            "recorded": False,
                            "started_on": None,
                            "completed_on": None,
                            "summary": (
                                "A methodology for "
                                "identifying connectivity "
                                "gaps and strengthening "
                                "resilience in the new "
                                "normal (ITU, October 2021), "
                                "applied in every C2R "
                                "country."
                            ),
                            "sg1_questions": [
                                {
                                    "code": "Q1/1",
                                    "title": (
                                        "Strategies and policies for the deployment of broadband"
                                    ),
                                }
                            ],
                            "request_ids": [],
                            "assessments": [],
                        },
                        {
                            "phase": "assessment",
                            "order": 2,
                            "title": ("Country digital infrastructure and resilience assessment"),
                            "status": "not_started",
                            "recorded": False,
                            "started_on": None,
                            "completed_on": None,
                            "summary": None,
                            "sg1_questions": [
                                {
                                    "code": "Q1/1",
                                    "title": (
                                        "Strategies and policies for the deployment of broadband"
                                    ),
                                },
                                {
                                    "code": "Q4/1",
                                    "title": (
                                        "Economic policies and "
                                        "methods of determining the "
                                        "costs of services"
                                    ),
                                },
                            ],
                            "request_ids": [],
                            "assessments": [],
                        },
                    ],
                    "pilots": [],
                    "contributions": [
                        {
                            "id": ("08c07c47-aa92-4516-8cc8-7dc1126d9824"),
                            "partner_id": ("505519aa-125e-49bd-84a7-d3d84f915b55"),
                            "partner_name": (
                                "Ministry of Internal Affairs and Communications (MIC), Japan"
                            ),
                            "amount": "1500000.00",
                            "currency": "USD",
                            "contributed_on": "2021-03-15",
                            "focus_region": "Africa",
                            "countries": ["RWA"],
                            "phases": [],
                            "description": None,
                            "illustrative": False,
                            "created_by": "analyst@itu.int",
                            "created_at": "2026-12-02T08:07:49.367606Z",
                        }
                    ],
                }
            ]
        }
    )

    country: ProgrammeCountry
    phases: list[PhaseOut] = Field(description="the five C2R phases, in order")
    pilots: list[PilotOut]
    contributions: list[ContributionOut] = Field(
        description="partners' contributions naming this country"
    )


class ProgrammeSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "country": {
                        "iso3": "NPL",
                        "name": "Nepal",
                        "itu_region": "Asia & Pacific",
                        "c2r_beneficiary": False,
                    },
                    "phases": {
                        "methodology": "completed",
                        "assessment": "in_progress",
                        "national_strategy": "not_started",
                        "pilot": "not_started",
                        "deep_dive": "not_started",
                    },
                }
            ]
        }
    )

    country: ProgrammeCountry
    phases: dict[C2RPhase, PhaseStatus]
