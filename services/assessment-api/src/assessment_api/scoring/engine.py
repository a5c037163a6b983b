"""The C2R score: pure functions, no I/O, so that the same inputs always give the same
scores. The formula is documented in the service README.

1. Each indicator value is normalised to 0-100 between its goalposts (min-max, clamped),
   reversed when lower is better.
2. A pillar score is the weighted mean of its available indicators; its coverage is the
   share of its indicator weight that has data.
3. The overall score is the weighted mean of the pillars that have a score.
4. A gap is an indicator short of its target; its weighted shortfall is the score points
   between value and target times the indicator's share of the overall weight.
"""

from collections.abc import Iterable, Mapping

from assessment_api.indicators.schemas import Provenance
from assessment_api.methodology.schemas import (
    CountryGroup,
    Direction,
    IndicatorDefinition,
    MethodologyDefinition,
    PillarDefinition,
    Target,
)
from assessment_api.scoring.schemas import (
    Band,
    Gap,
    GapReport,
    IndicatorBand,
    IndicatorScore,
    IndicatorStatus,
    PillarScore,
    ScoreCard,
)
from c2r_common.schemas import SG1_QUESTION_TITLES

# Most specific first: an LDC is scored against the LDC target when there is one.
_GROUP_PRECEDENCE = (CountryGroup.LDC, CountryGroup.DEVELOPING, CountryGroup.ALL)
BAND_FLOORS = ((95.0, Band.TARGET_MET), (75.0, Band.ADVANCED), (50.0, Band.SATISFACTORY))
DECIMALS = 2


def normalise(value: float, low: float, high: float, direction: Direction) -> float:
    """`value` on a 0-100 scale between goalposts `low` < `high`, clamped at the ends."""
    share = (value - low) / (high - low)
    if direction is Direction.LOWER_IS_BETTER:
        share = 1 - share
    return 100 * min(1.0, max(0.0, share))


def indicator_score(indicator: IndicatorDefinition, value: float) -> float:
    return normalise(value, indicator.goalpost_min, indicator.goalpost_max, indicator.direction)


def band_for(score: float) -> Band:
    return next((band for floor, band in BAND_FLOORS if score >= floor), Band.LIMITED)


def indicator_band(score: float | None) -> IndicatorBand:
    """The UMC band of one indicator's score, or no_data without one."""
    return IndicatorBand.NO_DATA if score is None else IndicatorBand(band_for(score).value)


def select_target(indicator: IndicatorDefinition, groups: Iterable[CountryGroup]) -> Target | None:
    """The target for a country in `groups` (ALL is implied): the most specific one."""
    member_of = {*groups, CountryGroup.ALL}
    for group in _GROUP_PRECEDENCE:
        if group in member_of:
            target = next((t for t in indicator.targets if t.applies_to is group), None)
            if target is not None:
                return target
    return None


def weighted_mean(pairs: Iterable[tuple[float, float]]) -> float | None:
    """Mean of (score, weight) pairs; None when there are none."""
    pairs = list(pairs)
    total = sum(weight for _, weight in pairs)
    if not pairs or total <= 0:
        return None
    return sum(score * weight for score, weight in pairs) / total


def weight_shares(definition: MethodologyDefinition) -> dict[str, float]:
    """Each indicator's share of the overall weight (pillar share x share within pillar)."""
    pillar_total = sum(p.weight for p in definition.pillars)
    shares: dict[str, float] = {}
    for pillar in definition.pillars:
        within_total = sum(i.weight for i in pillar.indicators)
        for indicator in pillar.indicators:
            shares[indicator.code] = (pillar.weight / pillar_total) * (
                indicator.weight / within_total
            )
    return shares


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def _score_indicator(
    indicator: IndicatorDefinition,
    pillar: PillarDefinition,
    values: Mapping[str, float],
    unavailable: Mapping[str, str],
    groups: Iterable[CountryGroup],
    share: float,
    origins: Mapping[str, str],
    provenance: Mapping[str, Provenance],
) -> IndicatorScore:
    value = values.get(indicator.code)
    target = select_target(indicator, groups)
    # A live source that failed leaves its reason even when an entered value stands in.
    reason = unavailable.get(indicator.code)
    if value is not None:
        status = IndicatorStatus.SCORED
    elif reason is not None:
        status = IndicatorStatus.UNAVAILABLE
    else:
        status = IndicatorStatus.MISSING
    score = _round(indicator_score(indicator, value)) if value is not None else None
    return IndicatorScore(
        code=indicator.code,
        name=indicator.name,
        pillar=pillar.code,
        unit=indicator.unit,
        direction=indicator.direction,
        status=status,
        value=value,
        origin=origins.get(indicator.code, "entered") if value is not None else None,
        reason=reason,
        score=score,
        band=indicator_band(score),
        provenance=provenance.get(indicator.code, Provenance.REPORTED)
        if value is not None
        else None,
        target=target.value if target else None,
        target_source=target.source if target else None,
        weight_share=round(share, 4),
    )


def _pillar_raw_score(pillar: PillarDefinition, values: Mapping[str, float]) -> float | None:
    return weighted_mean(
        (indicator_score(i, values[i.code]), i.weight)
        for i in pillar.indicators
        if i.code in values
    )


def _score_pillar(
    pillar: PillarDefinition, values: Mapping[str, float], share: float
) -> PillarScore:
    available_weight = sum(i.weight for i in pillar.indicators if i.code in values)
    return PillarScore(
        code=pillar.code,
        name=pillar.name,
        weight_share=round(share, 4),
        score=_round(_pillar_raw_score(pillar, values)),
        coverage=round(available_weight / sum(i.weight for i in pillar.indicators), 4),
        indicators_available=sum(1 for i in pillar.indicators if i.code in values),
        indicators_total=len(pillar.indicators),
    )


def effective_weights(
    definition: MethodologyDefinition, values: Mapping[str, float]
) -> dict[str, float]:
    """Each valued indicator's weight in the overall score as computed: its share within the
    pillars and indicators that have data (they sum to 1, or to 0 without data)."""
    available = [p for p in definition.pillars if any(i.code in values for i in p.indicators)]
    pillar_total = sum(p.weight for p in available)
    weights: dict[str, float] = {}
    for pillar in available:
        valued = [i for i in pillar.indicators if i.code in values]
        within_total = sum(i.weight for i in valued)
        for indicator in valued:
            weights[indicator.code] = (pillar.weight / pillar_total) * (
                indicator.weight / within_total
            )
    return weights


def estimated_share(
    definition: MethodologyDefinition,
    values: Mapping[str, float],
    provenance: Mapping[str, Provenance],
) -> float:
    """How much of the overall score rests on values that were not reported, 0-1."""
    weights = effective_weights(definition, values)
    return sum(
        weight
        for code, weight in weights.items()
        if provenance.get(code, Provenance.REPORTED) is not Provenance.REPORTED
    )


def score_card(
    definition: MethodologyDefinition,
    values: Mapping[str, float],
    *,
    groups: Iterable[CountryGroup] = (),
    unavailable: Mapping[str, str] | None = None,
    origins: Mapping[str, str] | None = None,
    provenance: Mapping[str, Provenance] | None = None,
) -> ScoreCard:
    """Scores of one assessment from its indicator values (codes absent: no data)."""
    groups = tuple(groups)
    shares = weight_shares(definition)
    pillar_total = sum(p.weight for p in definition.pillars)
    pillars = [_score_pillar(p, values, p.weight / pillar_total) for p in definition.pillars]
    # Unrounded pillar scores feed the overall score, so rounding never compounds.
    raw = [(_pillar_raw_score(p, values), p.weight) for p in definition.pillars]
    overall = weighted_mean((s, w) for s, w in raw if s is not None)
    coverage = sum(
        (p.weight / pillar_total) * score.coverage
        for p, score in zip(definition.pillars, pillars, strict=True)
    )
    indicators = [
        _score_indicator(
            i, p, values, unavailable or {}, groups, shares[i.code], origins or {}, provenance or {}
        )
        for p in definition.pillars
        for i in p.indicators
    ]
    overall = _round(overall)  # the band follows the score as published
    return ScoreCard(
        overall=overall,
        band=band_for(overall) if overall is not None else None,
        coverage=round(coverage, 4),
        estimated_share=round(estimated_share(definition, values, provenance or {}), 4),
        pillars=pillars,
        indicators=indicators,
    )


def _shortfall(indicator: IndicatorDefinition, value: float, target: float) -> float:
    if indicator.direction is Direction.HIGHER_IS_BETTER:
        return max(0.0, target - value)
    return max(0.0, value - target)


def _gap(
    indicator: IndicatorDefinition,
    pillar: PillarDefinition,
    value: float,
    target: Target | None,
    share: float,
) -> Gap | None:
    """The gap of one indicator, or None when it meets its target (or has none)."""
    if target is None:
        return None
    shortfall = round(_shortfall(indicator, value, target.value), 4)
    if shortfall <= 0:  # met, or short by less than the rounding
        return None
    points = max(0.0, indicator_score(indicator, target.value) - indicator_score(indicator, value))
    return Gap(
        rank=0,
        code=indicator.code,
        name=indicator.name,
        pillar=pillar.code,
        value=value,
        target=target.value,
        target_source=target.source,
        shortfall=shortfall,
        score_shortfall=round(points, DECIMALS),
        weighted_shortfall=round(points * share, 4),
        phase=indicator.phase,
        sg1_question=indicator.sg1_question,
        sg1_question_title=SG1_QUESTION_TITLES[indicator.sg1_question],
        interventions=list(indicator.interventions),
    )


def gap_report(
    definition: MethodologyDefinition,
    values: Mapping[str, float],
    *,
    groups: Iterable[CountryGroup] = (),
) -> GapReport:
    """Indicators short of their target, ranked by weighted shortfall (ties: by code)."""
    groups = tuple(groups)
    shares = weight_shares(definition)
    found: list[Gap] = []
    missing: list[str] = []
    for pillar in definition.pillars:
        for indicator in pillar.indicators:
            value = values.get(indicator.code)
            if value is None:
                missing.append(indicator.code)
                continue
            target = select_target(indicator, groups)
            gap = _gap(indicator, pillar, value, target, shares[indicator.code])
            if gap is not None:
                found.append(gap)
    found.sort(key=lambda g: (-g.weighted_shortfall, g.code))
    ranked = [g.model_copy(update={"rank": n}) for n, g in enumerate(found, start=1)]
    return GapReport(gaps=ranked, missing_data=missing)


def country_groups(*, ldc: bool, developing: bool) -> tuple[CountryGroup, ...]:
    groups = [CountryGroup.ALL]
    if developing:
        groups.append(CountryGroup.DEVELOPING)
    if ldc:
        groups.append(CountryGroup.LDC)
    return tuple(groups)
