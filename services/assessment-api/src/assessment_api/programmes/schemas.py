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
    model_config = ConfigDict(from_attributes=True)

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
    country: ProgrammeCountry
    phases: list[PhaseOut] = Field(description="the five C2R phases, in order")
    pilots: list[PilotOut]
    contributions: list[ContributionOut] = Field(
        description="partners' contributions naming this country"
    )


class ProgrammeSummary(BaseModel):
    country: ProgrammeCountry
    phases: dict[C2RPhase, PhaseStatus]
