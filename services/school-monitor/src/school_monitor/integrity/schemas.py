from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from school_monitor.integrity.figures import Difference
from school_monitor.integrity.rebuild import RebuildReport


class DifferenceOut(BaseModel):
    table: str = Field(description="school_daily, country_daily, country_stats or schools")
    key: list[str] = Field(description="the row's primary key")
    column: str = Field(description="the column, or `row` for a row missing or in excess")
    stored: Any
    expected: Any = Field(description="what the raw rows say")

    @classmethod
    def of(cls, difference: Difference) -> "DifferenceOut":
        return cls(
            table=difference.table,
            key=list(difference.key),
            column=difference.column,
            stored=difference.stored,
            expected=difference.expected,
        )


class VerifyOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"country": None, "exact": True, "differences_total": 0, "differences": []}
            ]
        }
    )

    country: str | None
    exact: bool = Field(description="no derived value differs from the raw rows")
    differences_total: int = Field(description="how many values differ in all")
    differences: list[DifferenceOut] = Field(description="the first `limit` of them")

    @classmethod
    def of(cls, country: str | None, differences: list[Difference], limit: int) -> "VerifyOut":
        return cls(
            country=country,
            exact=not differences,
            differences_total=len(differences),
            differences=[DifferenceOut.of(d) for d in differences[:limit]],
        )


class RebuildOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"country": "RWA", "schools": 1, "changes_total": 0, "changes": []}]
        }
    )

    country: str | None
    schools: int = Field(description="schools recomputed")
    changes_total: int = Field(description="how many values were rewritten in all")
    changes: list[DifferenceOut] = Field(
        description="the first `limit` values rewritten: `stored` as it was, `expected` as "
        "it is now"
    )

    @classmethod
    def of(cls, country: str | None, report: RebuildReport, limit: int) -> "RebuildOut":
        return cls(
            country=country,
            schools=report.schools,
            changes_total=len(report.changes),
            changes=[DifferenceOut.of(change) for change in report.changes[:limit]],
        )
