import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from c2r_common.reference import country_by_iso3


class SchoolIn(BaseModel):
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
                }
            ]
        }
    )

    giga_id: str = Field(min_length=1, max_length=64, description="school_id_giga")
    government_id: str | None = Field(None, max_length=64, description="school_id_govt")
    name: str = Field(min_length=1, max_length=300)
    country_iso3: str = Field(min_length=3, max_length=3)
    admin1: str | None = Field(None, max_length=200)
    admin2: str | None = Field(None, max_length=200)
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    education_level: str | None = Field(None, max_length=100)

    @field_validator("country_iso3")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if country_by_iso3(value) is None:
            raise ValueError(f"unknown ISO alpha-3 country code {value!r}")
        return value.upper()


class SchoolOut(SchoolIn):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    created_at: datetime
