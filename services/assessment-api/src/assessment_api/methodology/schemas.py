"""The C2R methodology as data: pillars, indicators, goalposts, targets and weights."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from c2r_common.fields import NoNulStr, StrictBool, StrictFloat
from c2r_common.schemas import C2RPhase, SG1Question

CODE_PATTERN = r"^[a-z][a-z0-9_]{1,63}$"


class Unit(StrEnum):
    """What an indicator's value measures; decides which values are acceptable."""

    PERCENT = "percent"  # a share, 0-100
    PERCENT_OF_GNI = "percent_of_gni"  # a price as % of monthly GNI per capita, >= 0
    PER_100 = "per_100"  # subscriptions per 100 inhabitants, >= 0
    COUNT = "count"  # a number of things, >= 0
    KBPS_PER_USER = "kbps_per_user"  # international bandwidth per Internet user, >= 0
    BOOLEAN = "boolean"  # 1 = yes, 0 = no


class Direction(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


class CountryGroup(StrEnum):
    """Who a target applies to; the most specific group of a country wins (LDC first)."""

    ALL = "all"
    DEVELOPING = "developing"
    LDC = "ldc"


class Target(BaseModel):
    value: StrictFloat
    applies_to: CountryGroup = CountryGroup.ALL
    source: NoNulStr = Field(min_length=1, max_length=300, examples=["Broadband Commission 2025"])


class IndicatorDefinition(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=CODE_PATTERN, examples=["internet_users_pct"])
    name: NoNulStr = Field(min_length=1, max_length=200)
    unit: Unit
    direction: Direction
    goalpost_min: StrictFloat = Field(
        allow_inf_nan=False, description="value scoring 0 (higher is better) or 100 (lower)"
    )
    goalpost_max: StrictFloat = Field(
        allow_inf_nan=False, description="value scoring 100 (higher is better) or 0 (lower)"
    )
    weight: StrictFloat = Field(gt=0, le=100, description="relative weight within its pillar")
    targets: list[Target] = Field(default_factory=list, max_length=10)
    data_source: NoNulStr = Field(min_length=1, max_length=300, examples=["ITU World Telecom/ICT"])
    required: StrictBool = Field(False, description="an assessment cannot be completed without it")
    live_source: NoNulStr | None = Field(
        None,
        description="'school-monitor' when the value is read live while the assessment is open",
    )
    phase: C2RPhase = Field(description="the C2R phase that addresses a gap on this indicator")
    sg1_question: SG1Question = Field(description="the ITU-D SG1 Question addressing a gap")
    interventions: list[Annotated[NoNulStr, Field(max_length=500)]] = Field(
        default_factory=list, max_length=20
    )

    @model_validator(mode="after")
    def _goalposts_in_order(self) -> Self:
        if self.goalpost_min >= self.goalpost_max:
            raise ValueError("goalpost_min must be below goalpost_max")
        return self


class PillarDefinition(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(pattern=CODE_PATTERN, examples=["adoption"])
    name: NoNulStr = Field(min_length=1, max_length=200)
    weight: StrictFloat = Field(gt=0, le=100, description="relative weight in the overall score")
    indicators: list[IndicatorDefinition] = Field(min_length=1, max_length=100)


class MethodologyDefinition(BaseModel):
    """The content of one methodology version."""

    model_config = ConfigDict(frozen=True)

    name: NoNulStr = Field(min_length=1, max_length=200)
    description: NoNulStr = Field("", max_length=5000)
    pillars: list[PillarDefinition] = Field(min_length=1, max_length=30)

    @model_validator(mode="after")
    def _unique_codes(self) -> Self:
        pillar_codes = [p.code for p in self.pillars]
        codes = [i.code for p in self.pillars for i in p.indicators]
        for kind, values in (("pillar", pillar_codes), ("indicator", codes)):
            duplicates = sorted({c for c in values if values.count(c) > 1})
            if duplicates:
                raise ValueError(f"duplicate {kind} codes: {', '.join(duplicates)}")
        return self

    def indicators(self) -> list[IndicatorDefinition]:
        return [i for p in self.pillars for i in p.indicators]

    def indicator(self, code: str) -> IndicatorDefinition | None:
        return next((i for i in self.indicators() if i.code == code), None)


class MethodologySummary(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "version": 1,
                    "name": ("C2R digital infrastructure and resilience assessment, scoring v1"),
                    "published_at": "2026-12-02T08:07:49.106435Z",
                    "published_by": "analyst@itu.int",
                    "indicator_count": 17,
                }
            ]
        },
    )

    version: int
    name: str
    published_at: datetime
    published_by: str
    indicator_count: int


class MethodologyOut(MethodologySummary):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": 1,
                    "name": ("C2R digital infrastructure and resilience assessment, scoring v1"),
                    "published_at": "2026-12-02T08:07:49.106435Z",
                    "published_by": "analyst@itu.int",
                    "indicator_count": 17,
                    "definition": {
                        "name": (
                            "C2R digital infrastructure and resilience assessment, scoring v1"
                        ),
                        "description": (
                            "Indicators grouped by the "
                            "pillars of the C2R "
                            "methodology (ITU, 2021), "
                            "each normalised to 0-100 "
                            "between goalposts, averaged "
                            "by weight within its pillar "
                            "and across pillars. Targets "
                            "from the Broadband "
                            "Commission 2025 and ITU UMC "
                            "2030 targets."
                        ),
                        "pillars": [
                            {
                                "code": "coverage",
                                "name": ("Coverage and capacity (supply)"),
                                "weight": 20.0,
                                "indicators": [
                                    {
                                        "code": "pop_coverage_4g_pct",
                                        "name": (
                                            "Population covered by at least a 4G mobile network"
                                        ),
                                        "unit": "percent",
                                        "direction": "higher_is_better",
                                        "goalpost_min": 0.0,
                                        "goalpost_max": 100.0,
                                        "weight": 2.0,
                                        "targets": [
                                            {
                                                "value": 100.0,
                                                "applies_to": "all",
                                                "source": (
                                                    "ITU UMC 2030 targets "
                                                    "(universal and meaningful "
                                                    "connectivity)"
                                                ),
                                            }
                                        ],
                                        "data_source": (
                                            "ITU World Telecommunication/ICT Indicators"
                                        ),
                                        "required": True,
                                        "live_source": None,
                                        "phase": "national_strategy",
                                        "sg1_question": "Q5/1",
                                        "interventions": [
                                            ("Coverage obligations in spectrum licences"),
                                            ("Universal service fund financing of rural sites"),
                                        ],
                                    },
                                    {
                                        "code": ("mobile_broadband_subs_per_100"),
                                        "name": (
                                            "Active mobile-broadband "
                                            "subscriptions per 100 "
                                            "inhabitants"
                                        ),
                                        "unit": "per_100",
                                        "direction": "higher_is_better",
                                        "goalpost_min": 0.0,
                                        "goalpost_max": 100.0,
                                        "weight": 1.0,
                                        "targets": [
                                            {
                                                "value": 100.0,
                                                "applies_to": "all",
                                                "source": (
                                                    "C2R platform working target "
                                                    "for scoring v1 (no "
                                                    "published target)"
                                                ),
                                            }
                                        ],
                                        "data_source": (
                                            "ITU World Telecommunication/ICT Indicators"
                                        ),
                                        "required": False,
                                        "live_source": None,
                                        "phase": "national_strategy",
                                        "sg1_question": "Q1/1",
                                        "interventions": [
                                            ("National broadband plan demand-side measures"),
                                            "Device financing",
                                        ],
                                    },
                                ],
                            },
                            {
                                "code": "adoption",
                                "name": "Adoption and usage (demand)",
                                "weight": 20.0,
                                "indicators": [
                                    {
                                        "code": "internet_users_pct",
                                        "name": ("Individuals using the Internet"),
                                        "unit": "percent",
                                        "direction": "higher_is_better",
                                        "goalpost_min": 0.0,
                                        "goalpost_max": 100.0,
                                        "weight": 2.0,
                                        "targets": [
                                            {
                                                "value": 75.0,
                                                "applies_to": "all",
                                                "source": (
                                                    "Broadband Commission 2025 targets (worldwide)"
                                                ),
                                            },
                                            {
                                                "value": 65.0,
                                                "applies_to": "developing",
                                                "source": ("Broadband Commission 2025 targets"),
                                            },
                                        ],
                                        "data_source": (
                                            "ITU World Telecommunication/ICT Indicators"
                                        ),
                                        "required": True,
                                        "live_source": None,
                                        "phase": "national_strategy",
                                        "sg1_question": "Q1/1",
                                        "interventions": [
                                            ("National ICT strategy with adoption targets"),
                                            ("Public access points and community networks"),
                                        ],
                                    },
                                    {
                                        "code": "households_internet_pct",
                                        "name": ("Households with Internet access at home"),
                                        "unit": "percent",
                                        "direction": "higher_is_better",
                                        "goalpost_min": 0.0,
                                        "goalpost_max": 100.0,
                                        "weight": 1.0,
                                        "targets": [
                                            {
                                                "value": 100.0,
                                                "applies_to": "all",
                                                "source": (
                                                    "ITU UMC 2030 targets "
                                                    "(universal and meaningful "
                                                    "connectivity)"
                                                ),
                                            }
                                        ],
                                        "data_source": (
                                            "ITU World Telecommunication/ICT Indicators"
                                        ),
                                        "required": False,
                                        "live_source": None,
                                        "phase": "national_strategy",
                                        "sg1_question": "Q1/1",
                                        "interventions": [
                                            ("Fixed and fixed-wireless access programmes")
                                        ],
                                    },
                                ],
                            },
                        ],
                    },
                }
            ]
        }
    )

    definition: MethodologyDefinition
