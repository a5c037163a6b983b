import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from c2r_common.fields import NoNulStr, Omittable, StrictBool, StrictDate
from c2r_common.reference import ItuRegion
from c2r_common.schemas import C2RPhase, CountryIso3, known_country_code

MAX_AMOUNT = Decimal("99999999999999.99")  # 16 digits, 2 after the point (amount_minor: int8)
# The document states the whole rule, which pydantic's own schema of a Decimal leaves out
# (its text form is any string, its number form any size and precision).
_AMOUNT_SCHEMA = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "maximum": float(MAX_AMOUNT), "multipleOf": 0.01},
        {"type": "string", "pattern": r"^(?!0*(\.0*)?$)[0-9]{1,14}(\.[0-9]{1,2})?$"},
    ],
    "examples": ["250000.00"],
}
Amount = Annotated[
    Decimal,
    Field(gt=0, le=MAX_AMOUNT, max_digits=16, decimal_places=2),
    WithJsonSchema(_AMOUNT_SCHEMA, mode="validation"),
]


class PartnerKind(StrEnum):
    GOVERNMENT = "government"
    ORGANISATION = "organisation"
    PRIVATE_SECTOR = "private_sector"


class PartnerIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Ministry of Internal Affairs and Communications (MIC), Japan",
                    "kind": "government",
                    "country_iso3": "JPN",
                    "founding": True,
                    "steering_committee": True,
                }
            ]
        }
    )

    name: NoNulStr = Field(min_length=1, max_length=200)
    kind: PartnerKind
    country_iso3: CountryIso3 | None = None
    founding: StrictBool = False
    steering_committee: StrictBool = Field(
        False, description="member of the C2R Steering Committee"
    )
    joined_on: StrictDate | None = None
    source: NoNulStr | None = Field(None, max_length=300)


class PartnerUpdate(BaseModel):
    """A partial update: the fields given change; null clears `joined_on` and `source`."""

    # A field that cannot be changed here (founding, name) is refused, not ignored.
    model_config = ConfigDict(extra="forbid")

    steering_committee: Omittable[StrictBool] = None
    joined_on: StrictDate | None = None
    source: NoNulStr | None = Field(None, max_length=300)


class PartnerOut(PartnerIn):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "name": ("Ministry of Internal Affairs and Communications (MIC), Japan"),
                    "kind": "government",
                    "country_iso3": "JPN",
                    "founding": True,
                    "steering_committee": False,
                    "joined_on": None,
                    "source": None,
                    "id": ("505519aa-125e-49bd-84a7-d3d84f915b55"),
                    "created_at": "2026-12-02T08:07:49.347002Z",
                }
            ]
        },
    )

    id: uuid.UUID
    created_at: datetime


class PartnerFilters(BaseModel):
    steering_committee: bool | None = None
    founding: bool | None = None


class ContributionIn(BaseModel):
    partner_id: uuid.UUID
    amount: Amount
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["USD"], description="ISO 4217")
    contributed_on: StrictDate
    focus_region: ItuRegion | None = None
    countries: list[str] = Field(default_factory=list, max_length=200)
    phases: list[C2RPhase] = Field(default_factory=list, description="C2R phases funded")
    description: NoNulStr | None = Field(None, max_length=2000)
    illustrative: StrictBool = Field(
        False, description="true for example data with no public source"
    )

    @field_validator("countries")
    @classmethod
    def _countries(cls, values: list[str]) -> list[str]:
        return sorted({known_country_code(v) for v in values})


class ContributionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
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
            ]
        }
    )

    id: uuid.UUID
    partner_id: uuid.UUID
    partner_name: str
    amount: Decimal
    currency: str
    contributed_on: StrictDate
    focus_region: ItuRegion | None
    countries: list[str]
    phases: list[C2RPhase]
    description: str | None
    illustrative: bool
    created_by: str
    created_at: datetime


class ContributionFilters(BaseModel):
    partner_id: uuid.UUID | None = None
    country_iso3: NoNulStr | None = Field(None, min_length=3, max_length=3)
    focus_region: ItuRegion | None = None


class TotalsBy(StrEnum):
    PARTNER = "partner"
    REGION = "region"


class ContributionTotal(BaseModel):
    key: str = Field(description="partner id, or ITU-D region ('unspecified' when none)")
    label: str
    currency: str
    total: Decimal
    contributions: int


class ContributionTotals(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "by": "partner",
                    "totals": [
                        {
                            "key": ("505519aa-125e-49bd-84a7-d3d84f915b55"),
                            "label": (
                                "Ministry of Internal Affairs and Communications (MIC), Japan"
                            ),
                            "currency": "USD",
                            "total": "1500000.00",
                            "contributions": 1,
                        }
                    ],
                }
            ]
        }
    )

    by: TotalsBy
    totals: list[ContributionTotal] = Field(description="one row per key and currency")
