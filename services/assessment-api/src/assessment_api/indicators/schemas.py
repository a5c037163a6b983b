from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from assessment_api.methodology.schemas import CODE_PATTERN, Direction, Unit
from c2r_common.fields import DataYear, NoNulStr, StrictFloat


class Provenance(StrEnum):
    """How a value came to be, as ITU's DataHub marks each data point."""

    REPORTED = "reported"  # by the country or measured (school-monitor)
    ESTIMATED = "estimated"  # by ITU or a partner, from related data
    IMPUTED = "imputed"  # filled in by a model or from a neighbouring year


SOURCE_URL_MAX = 2083  # pydantic's own bound of an HTTP URL


class IndicatorValueIn(BaseModel):
    value: StrictFloat = Field(examples=[42.5])
    year: DataYear = Field(description="the year the value refers to")
    source: NoNulStr = Field(min_length=1, max_length=300, examples=["ITU World Telecom/ICT 2024"])
    note: NoNulStr | None = Field(None, max_length=2000)
    provenance: Provenance = Field(
        Provenance.REPORTED, description="reported (or measured), estimated or imputed"
    )
    source_url: HttpUrl | None = Field(
        None, examples=["https://datahub.itu.int/data/?i=11624&e=RWA"]
    )


class BulkIndicatorValue(IndicatorValueIn):
    code: str = Field(pattern=CODE_PATTERN, examples=["internet_users_pct"])


class BulkIndicatorValues(BaseModel):
    values: list[BulkIndicatorValue] = Field(min_length=1, max_length=500)


class IndicatorValueOut(BaseModel):
    """One indicator of the assessment's methodology, with its value when there is one."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "pop_coverage_4g_pct",
                    "name": ("Population covered by at least a 4G mobile network"),
                    "pillar": "coverage",
                    "unit": "percent",
                    "direction": "higher_is_better",
                    "required": True,
                    "live_source": None,
                    "value": 90.0,
                    "year": 2025,
                    "source": "analyst@itu.int",
                    "note": None,
                    "provenance": "reported",
                    "source_url": None,
                    "updated_by": "analyst@itu.int",
                    "updated_at": "2026-12-02T08:07:49.251586Z",
                }
            ]
        }
    )

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
    provenance: Provenance | None
    source_url: str | None
    updated_by: str | None
    updated_at: datetime | None


class IndicatorValueChangeOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "indicator_code": "internet_users_pct",
                    "value": 30.0,
                    "year": 2025,
                    "source": "analyst@itu.int",
                    "note": None,
                    "provenance": "reported",
                    "source_url": None,
                    "changed_by": "analyst@itu.int",
                    "changed_at": "2026-12-02T08:07:49.258404Z",
                }
            ]
        },
    )

    id: int
    indicator_code: str
    value: float | None = Field(description="null when the value was removed")
    year: int | None
    source: str | None
    note: str | None
    provenance: Provenance | None
    source_url: str | None
    changed_by: str
    changed_at: datetime
