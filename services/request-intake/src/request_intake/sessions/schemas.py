import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from c2r_common.fields import NoNulStr, StrictBool, StrictDate
from c2r_common.schemas import CountryIso3


class ParticipantIn(BaseModel):
    name: NoNulStr = Field(min_length=1, max_length=200)
    country_iso3: CountryIso3 | None = None
    is_member_state: StrictBool = Field(False, description="attends on behalf of a Member State")


class ParticipantOut(ParticipantIn):
    model_config = ConfigDict(from_attributes=True)


class SessionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Connect2Recover information session for African Member States",
                    "held_on": "2023-05-02",
                    "participants": [
                        {"name": "Ministry of ICT", "country_iso3": "RWA", "is_member_state": True}
                    ],
                }
            ]
        }
    )

    title: NoNulStr = Field(min_length=1, max_length=300)
    held_on: StrictDate
    participants: list[ParticipantIn] = Field(default_factory=list, max_length=5000)


class SessionOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": ("1e7e037b-478f-4da7-9edf-dcd4004b8d0f"),
                    "title": ("Connect2Recover information session for African Member States"),
                    "held_on": "2023-05-02",
                    "participants": [
                        {"name": "Ministry of ICT", "country_iso3": "RWA", "is_member_state": True}
                    ],
                    "participant_count": 1,
                    "member_state_count": 1,
                    "member_state_participant_count": 1,
                    "country_count": 1,
                    "member_states_by_region": {"Africa": 1},
                }
            ]
        },
    )

    id: uuid.UUID
    title: str
    held_on: date
    participants: list[ParticipantOut]
    participant_count: int
    member_state_count: int = Field(description="distinct Member States represented")
    member_state_participant_count: int = Field(
        description="participants attending on behalf of a Member State"
    )
    country_count: int = Field(description="distinct countries of all participants")
    member_states_by_region: dict[str, int] = Field(
        description="distinct Member States per ITU-D region"
    )
