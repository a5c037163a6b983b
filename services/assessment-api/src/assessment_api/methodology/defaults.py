"""Methodology v1, shipped with the service and seeded into every database.

Pillars follow the C2R methodology (ITU, Oct 2021, "A methodology for identifying
connectivity gaps and strengthening resilience in the new normal"); the methodology
publishes no composite score, so goalposts and weights are this platform's own choice and
are documented in the service README. Targets cite their source: Broadband Commission 2025
targets and the ITU/Office of the Secretary-General's Envoy on Technology universal and
meaningful connectivity (UMC) 2030 targets.
"""

from assessment_api.methodology.schemas import (
    CountryGroup,
    Direction,
    IndicatorDefinition,
    MethodologyDefinition,
    PillarDefinition,
    Target,
    Unit,
)
from c2r_common.schemas import C2RPhase, SG1Question

BBC_2025 = "Broadband Commission 2025 targets"
UMC_2030 = "ITU UMC 2030 targets (universal and meaningful connectivity)"
C2R_METHOD = "C2R methodology (ITU, 2021): no numeric target published; full provision assumed"
# Where no published target exists and "full provision" makes no sense: this platform's
# working target for v1, to be revised in a later methodology version.
C2R_PLATFORM = "C2R platform working target for scoring v1 (no published target)"
ITU_STATS = "ITU World Telecommunication/ICT Indicators"
HIGHER = Direction.HIGHER_IS_BETTER
LOWER = Direction.LOWER_IS_BETTER


def _share(
    code: str,
    name: str,
    *,
    weight: float,
    targets: list[Target],
    data_source: str,
    phase: C2RPhase,
    sg1: SG1Question,
    interventions: list[str],
    required: bool = False,
    live_source: str | None = None,
) -> IndicatorDefinition:
    """A percentage where more is better, scored on 0-100 goalposts."""
    return IndicatorDefinition(
        code=code,
        name=name,
        unit=Unit.PERCENT,
        direction=HIGHER,
        goalpost_min=0,
        goalpost_max=100,
        weight=weight,
        targets=targets,
        data_source=data_source,
        required=required,
        live_source=live_source,
        phase=phase,
        sg1_question=sg1,
        interventions=interventions,
    )


def _yes_no(
    code: str, name: str, *, target_source: str, sg1: SG1Question, interventions: list[str]
) -> IndicatorDefinition:
    """A policy instrument that exists (1) or not (0); the target is that it exists."""
    return IndicatorDefinition(
        code=code,
        name=name,
        unit=Unit.BOOLEAN,
        direction=HIGHER,
        goalpost_min=0,
        goalpost_max=1,
        weight=1,
        targets=[Target(value=1, source=target_source)],
        data_source="Country assessment (policy and regulation review)",
        required=True,
        phase=C2RPhase.NATIONAL_STRATEGY,
        sg1_question=sg1,
        interventions=interventions,
    )


COVERAGE = PillarDefinition(
    code="coverage",
    name="Coverage and capacity (supply)",
    weight=20,
    indicators=[
        _share(
            "pop_coverage_4g_pct",
            "Population covered by at least a 4G mobile network",
            weight=2,
            targets=[Target(value=100, source=UMC_2030)],
            data_source=ITU_STATS,
            required=True,
            phase=C2RPhase.NATIONAL_STRATEGY,
            sg1=SG1Question.Q5_1,
            interventions=[
                "Coverage obligations in spectrum licences",
                "Universal service fund financing of rural sites",
                "Infrastructure sharing rules",
            ],
        ),
        IndicatorDefinition(
            code="mobile_broadband_subs_per_100",
            name="Active mobile-broadband subscriptions per 100 inhabitants",
            unit=Unit.PER_100,
            direction=HIGHER,
            goalpost_min=0,
            goalpost_max=100,
            weight=1,
            targets=[Target(value=100, source=C2R_PLATFORM)],
            data_source=ITU_STATS,
            phase=C2RPhase.NATIONAL_STRATEGY,
            sg1_question=SG1Question.Q1_1,
            interventions=["National broadband plan demand-side measures", "Device financing"],
        ),
    ],
)

ADOPTION = PillarDefinition(
    code="adoption",
    name="Adoption and usage (demand)",
    weight=20,
    indicators=[
        _share(
            "internet_users_pct",
            "Individuals using the Internet",
            weight=2,
            targets=[
                Target(value=75, applies_to=CountryGroup.ALL, source=f"{BBC_2025} (worldwide)"),
                Target(value=65, applies_to=CountryGroup.DEVELOPING, source=BBC_2025),
                Target(value=35, applies_to=CountryGroup.LDC, source=BBC_2025),
            ],
            data_source=ITU_STATS,
            required=True,
            phase=C2RPhase.NATIONAL_STRATEGY,
            sg1=SG1Question.Q1_1,
            interventions=[
                "National ICT strategy with adoption targets",
                "Public access points and community networks",
            ],
        ),
        _share(
            "households_internet_pct",
            "Households with Internet access at home",
            weight=1,
            targets=[Target(value=100, source=UMC_2030)],
            data_source=ITU_STATS,
            phase=C2RPhase.NATIONAL_STRATEGY,
            sg1=SG1Question.Q1_1,
            interventions=["Fixed and fixed-wireless access programmes"],
        ),
        _share(
            "mobile_phone_ownership_pct",
            "Individuals owning a mobile phone",
            weight=1,
            targets=[Target(value=100, source=UMC_2030)],
            data_source=ITU_STATS,
            phase=C2RPhase.NATIONAL_STRATEGY,
            sg1=SG1Question.Q4_1,
            interventions=["Handset taxation review", "Device financing schemes"],
        ),
    ],
)

AFFORDABILITY = PillarDefinition(
    code="affordability",
    name="Affordability",
    weight=15,
    indicators=[
        IndicatorDefinition(
            code="mobile_broadband_price_gni_pct",
            name="Entry-level mobile-broadband basket, % of monthly GNI per capita",
            unit=Unit.PERCENT_OF_GNI,
            direction=LOWER,
            goalpost_min=0,
            goalpost_max=20,
            weight=2,
            targets=[Target(value=2, source=BBC_2025)],
            data_source="ITU ICT Price Baskets",
            required=True,
            phase=C2RPhase.NATIONAL_STRATEGY,
            sg1_question=SG1Question.Q4_1,
            interventions=[
                "Cost-based wholesale pricing",
                "Review of sector-specific taxes",
                "Competition in the mobile market",
            ],
        ),
        IndicatorDefinition(
            code="fixed_broadband_price_gni_pct",
            name="Entry-level fixed-broadband basket, % of monthly GNI per capita",
            unit=Unit.PERCENT_OF_GNI,
            direction=LOWER,
            goalpost_min=0,
            goalpost_max=50,
            weight=1,
            targets=[Target(value=2, source=UMC_2030)],
            data_source="ITU ICT Price Baskets",
            phase=C2RPhase.NATIONAL_STRATEGY,
            sg1_question=SG1Question.Q4_1,
            interventions=["Open-access backbone", "Wholesale regulation of fixed access"],
        ),
    ],
)

SKILLS = PillarDefinition(
    code="digital_skills",
    name="Digital skills",
    weight=10,
    indicators=[
        _share(
            "basic_digital_skills_pct",
            "Youth and adults with at least basic digital skills",
            weight=1,
            targets=[Target(value=60, source=BBC_2025)],
            data_source=ITU_STATS,
            required=True,
            phase=C2RPhase.PILOT,
            sg1=SG1Question.Q1_1,
            interventions=["Digital skills programmes in schools", "Community training centres"],
        ),
    ],
)

ANCHORS = PillarDefinition(
    code="anchor_institutions",
    name="Community anchor institutions",
    weight=15,
    indicators=[
        _share(
            "schools_connected_pct",
            "Schools connected (good or moderate connectivity)",
            weight=2,
            targets=[Target(value=100, source=UMC_2030)],
            data_source="school-monitor (Giga measurements)",
            live_source="school-monitor",
            phase=C2RPhase.PILOT,
            sg1=SG1Question.Q5_1,
            interventions=["School connectivity pilot with Giga", "Aggregated demand procurement"],
        ),
        _share(
            "health_facilities_connected_pct",
            "Health facilities connected",
            weight=1,
            targets=[Target(value=100, source=C2R_METHOD)],
            data_source="Country assessment (ministry of health)",
            phase=C2RPhase.PILOT,
            sg1=SG1Question.Q5_1,
            interventions=["Connect clinics through universal service projects"],
        ),
    ],
)

RESILIENCE = PillarDefinition(
    code="network_resilience",
    name="Network resilience",
    weight=10,
    indicators=[
        IndicatorDefinition(
            code="intl_bandwidth_kbps_per_user",
            name="International bandwidth per Internet user (kbit/s)",
            unit=Unit.KBPS_PER_USER,
            direction=HIGHER,
            goalpost_min=0,
            goalpost_max=200,
            weight=1,
            targets=[Target(value=100, source=C2R_PLATFORM)],
            data_source=ITU_STATS,
            phase=C2RPhase.DEEP_DIVE,
            sg1_question=SG1Question.Q3_1,
            interventions=["Additional submarine or terrestrial capacity", "Regional backbones"],
        ),
        IndicatorDefinition(
            code="ixp_count",
            name="Operational Internet exchange points",
            unit=Unit.COUNT,
            direction=HIGHER,
            goalpost_min=0,
            goalpost_max=2,
            weight=1,
            targets=[Target(value=1, source=C2R_PLATFORM)],
            data_source="Country assessment; PeeringDB",
            phase=C2RPhase.DEEP_DIVE,
            sg1_question=SG1Question.Q1_1,
            interventions=["Establish a neutral national IXP", "Local content hosting"],
        ),
        IndicatorDefinition(
            code="intl_route_count",
            name="Independent international routes (submarine cables, cross-border fibre)",
            unit=Unit.COUNT,
            direction=HIGHER,
            goalpost_min=0,
            goalpost_max=4,
            weight=1,
            targets=[Target(value=2, source=C2R_PLATFORM)],
            data_source="Country assessment (operator stress test)",
            phase=C2RPhase.DEEP_DIVE,
            sg1_question=SG1Question.Q3_1,
            interventions=["Route diversity requirements", "Cross-border fibre agreements"],
        ),
        _yes_no(
            "emergency_telecom_plan_tested",
            "Emergency telecommunication plan exercised in the last two years",
            target_source=C2R_METHOD,
            sg1=SG1Question.Q3_1,
            interventions=["Emergency telecommunication simulation exercise", "Early warning"],
        ),
    ],
)

POLICY = PillarDefinition(
    code="policy",
    name="Policy and regulation",
    weight=10,
    indicators=[
        _yes_no(
            "broadband_plan_funded",
            "Funded national broadband plan or strategy",
            target_source=BBC_2025,
            sg1=SG1Question.Q1_1,
            interventions=["National broadband plan / ICT strategy with a funded action plan"],
        ),
        _yes_no(
            "netp_adopted",
            "National Emergency Telecommunication Plan adopted",
            target_source=C2R_METHOD,
            sg1=SG1Question.Q3_1,
            interventions=["National Emergency Telecommunication Plan (NETP) development"],
        ),
        _yes_no(
            "universal_service_fund_active",
            "Universal service fund collecting and disbursing",
            target_source=C2R_METHOD,
            sg1=SG1Question.Q5_1,
            interventions=["Universal service fund reform and disbursement plan"],
        ),
    ],
)

DEFAULT_METHODOLOGY = MethodologyDefinition(
    name="C2R digital infrastructure and resilience assessment, scoring v1",
    description=(
        "Indicators grouped by the pillars of the C2R methodology (ITU, 2021), each "
        "normalised to 0-100 between goalposts, averaged by weight within its pillar and "
        "across pillars. Targets from the Broadband Commission 2025 and ITU UMC 2030 targets."
    ),
    pillars=[COVERAGE, ADOPTION, AFFORDABILITY, SKILLS, ANCHORS, RESILIENCE, POLICY],
)
