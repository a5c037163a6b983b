from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from assessment_api.methodology.schemas import CODE_PATTERN, Direction, Unit
from c2r_common.fields import DataYear, NoNulStr, StrictFloat


class IndicatorValueIn(BaseModel):
    value: StrictFloat = Field(examples=[42.5])
    year: DataYear = Field(description="the year the value refers to")
    source: NoNulStr = Field(min_length=1, max_length=300, examples=["ITU World Telecom/ICT 2024"])
    note: NoNulStr | None = Field(None, max_length=2000)


class BulkIndicatorValue(IndicatorValueIn):
    code: str = Field(pattern=CODE_PATTERN, examples=["internet_users_pct"])


class BulkIndicatorValues(BaseModel):
    values: list[BulkIndicatorValue] = Field(min_length=1, max_length=500)


class IndicatorValueOut(BaseModel):
    """One indicator of the assessment's methodology, with its value when there is one."""

    code: str
    name: str
    pillar: str
    unit: Unit
    direction: Direction
    required: bool
    live_source: str | None
    value: float | None
    year: int | None
    source: str | None
    note: str | None
    updated_by: str | None
    updated_at: datetime | None


class IndicatorValueChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    indicator_code: str
    value: float | None = Field(description="null when the value was removed")
    year: int | None
    source: str | None
    note: str | None
    changed_by: str
    changed_at: datetime
