"""Property-based tests of the pure scoring rules."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assessment_api.indicators.service import unit_problem
from assessment_api.methodology.defaults import DEFAULT_METHODOLOGY
from assessment_api.methodology.schemas import (
    CountryGroup,
    Direction,
    MethodologyDefinition,
    Unit,
)
from assessment_api.scoring import engine
from assessment_api.scoring.schemas import Band

# No deadline: a slow CI machine must not turn a property into a timing test.
properties = settings(deadline=None, max_examples=200)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
directions = st.sampled_from(list(Direction))
INDICATORS = DEFAULT_METHODOLOGY.indicators()


@st.composite
def goalposts(draw: st.DrawFn) -> tuple[float, float]:
    low = draw(st.floats(min_value=-1e4, max_value=1e4, allow_nan=False))
    width = draw(st.floats(min_value=1e-3, max_value=1e4, allow_nan=False))
    return low, low + width


def _valid_value(unit: Unit) -> st.SearchStrategy[float]:
    if unit is Unit.PERCENT:
        return st.floats(min_value=0, max_value=100)
    if unit is Unit.BOOLEAN:
        return st.sampled_from([0.0, 1.0])
    return st.floats(min_value=0, max_value=1e5)


@st.composite
def value_sets(draw: st.DrawFn) -> dict[str, float]:
    """Values for any subset of methodology v1's indicators, valid for their units."""
    chosen = draw(st.lists(st.sampled_from(INDICATORS), unique_by=lambda i: i.code))
    return {i.code: draw(_valid_value(i.unit)) for i in chosen}


@properties
@given(finite, goalposts(), directions)
def test_normalised_scores_stay_within_0_and_100(
    value: float, posts: tuple[float, float], direction: Direction
) -> None:
    assert 0 <= engine.normalise(value, *posts, direction) <= 100


@properties
@given(finite, finite, goalposts(), directions)
def test_normalisation_is_monotonic_in_the_indicators_direction(
    a: float, b: float, posts: tuple[float, float], direction: Direction
) -> None:
    low, high = sorted((a, b))
    better, worse = (high, low) if direction is Direction.HIGHER_IS_BETTER else (low, high)
    assert engine.normalise(better, *posts, direction) >= engine.normalise(worse, *posts, direction)


@properties
@given(goalposts(), directions)
def test_goalposts_score_0_and_100(posts: tuple[float, float], direction: Direction) -> None:
    low, high = posts
    best, worst = (high, low) if direction is Direction.HIGHER_IS_BETTER else (low, high)
    assert engine.normalise(best, low, high, direction) == 100
    assert engine.normalise(worst, low, high, direction) == 0


@properties
@given(value_sets())
def test_overall_and_pillar_scores_stay_within_bounds(values: dict[str, float]) -> None:
    card = engine.score_card(DEFAULT_METHODOLOGY, values)
    scored = [p.score for p in card.pillars if p.score is not None]
    assert all(0 <= s <= 100 for s in scored)
    assert 0 <= card.coverage <= 1
    if not values:
        assert card.overall is None
        assert card.band is None
    else:
        assert card.overall is not None
        assert min(scored) - 0.01 <= card.overall <= max(scored) + 0.01


@properties
@given(value_sets(), st.data())
def test_improving_one_indicator_never_lowers_the_overall_score(
    values: dict[str, float], data: st.DataObject
) -> None:
    indicator = data.draw(st.sampled_from(INDICATORS))
    worse = data.draw(_valid_value(indicator.unit))
    better = data.draw(_valid_value(indicator.unit))
    if indicator.direction is Direction.HIGHER_IS_BETTER:
        worse, better = min(worse, better), max(worse, better)
    else:
        worse, better = max(worse, better), min(worse, better)
    before = engine.score_card(DEFAULT_METHODOLOGY, values | {indicator.code: worse})
    after = engine.score_card(DEFAULT_METHODOLOGY, values | {indicator.code: better})
    assert before.overall is not None
    assert after.overall is not None
    assert after.overall >= before.overall


@properties
@given(value_sets(), st.floats(min_value=0.1, max_value=50))
def test_scaling_every_weight_leaves_scores_unchanged(
    values: dict[str, float], factor: float
) -> None:
    scaled = _scale_weights(DEFAULT_METHODOLOGY, factor)
    original = engine.score_card(DEFAULT_METHODOLOGY, values)
    rescaled = engine.score_card(scaled, values)
    if original.overall is None:
        assert rescaled.overall is None
    else:
        assert rescaled.overall is not None
        assert math.isclose(original.overall, rescaled.overall, abs_tol=0.011)


def test_a_heavier_indicator_pulls_its_pillar_towards_its_score() -> None:
    pillar = DEFAULT_METHODOLOGY.pillars[1]  # adoption: internet users weighs 2 of 4
    values = {"internet_users_pct": 100.0, "households_internet_pct": 0.0}
    card = engine.score_card(DEFAULT_METHODOLOGY, values)
    adoption = next(p for p in card.pillars if p.code == pillar.code)
    assert adoption.score == pytest.approx(100 * 2 / 3, abs=0.01)
    assert adoption.coverage == 0.75  # 3 of the pillar's 4 weight units have data


@properties
@given(value_sets())
def test_same_inputs_give_the_same_scores_whatever_their_order(values: dict[str, float]) -> None:
    reversed_values = dict(reversed(list(values.items())))
    first = engine.score_card(DEFAULT_METHODOLOGY, values)
    assert first == engine.score_card(DEFAULT_METHODOLOGY, reversed_values)
    assert engine.gap_report(DEFAULT_METHODOLOGY, values) == engine.gap_report(
        DEFAULT_METHODOLOGY, reversed_values
    )


@properties
@given(value_sets())
def test_gaps_are_short_of_target_and_ranked_by_weighted_shortfall(
    values: dict[str, float],
) -> None:
    report = engine.gap_report(DEFAULT_METHODOLOGY, values)
    weighted = [g.weighted_shortfall for g in report.gaps]
    assert weighted == sorted(weighted, reverse=True)
    assert [g.rank for g in report.gaps] == list(range(1, len(report.gaps) + 1))
    for gap in report.gaps:
        assert gap.shortfall > 0
        assert gap.code in values
    assert set(report.missing_data) == {i.code for i in INDICATORS} - set(values)


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, Band.LIMITED),
        (49.99, Band.LIMITED),
        (50, Band.SATISFACTORY),
        (74.99, Band.SATISFACTORY),
        (75, Band.ADVANCED),
        (94.99, Band.ADVANCED),
        (95, Band.TARGET_MET),
        (100, Band.TARGET_MET),
    ],
)
def test_umc_bands(score: float, band: Band) -> None:
    assert engine.band_for(score) is band


def test_ldc_is_held_to_the_ldc_internet_target() -> None:
    internet = DEFAULT_METHODOLOGY.indicator("internet_users_pct")
    assert internet is not None
    ldc = engine.country_groups(ldc=True, developing=True)
    developing = engine.country_groups(ldc=False, developing=True)
    assert engine.select_target(internet, ldc).value == 35  # type: ignore[union-attr]
    assert engine.select_target(internet, developing).value == 65  # type: ignore[union-attr]
    assert engine.select_target(internet, [CountryGroup.ALL]).value == 75  # type: ignore[union-attr]
    gaps = engine.gap_report(DEFAULT_METHODOLOGY, {"internet_users_pct": 40}, groups=ldc)
    assert gaps.gaps == []  # 40% meets the LDC target of 35%


def test_gap_carries_its_phase_sg1_question_and_interventions() -> None:
    report = engine.gap_report(
        DEFAULT_METHODOLOGY, {"mobile_broadband_price_gni_pct": 10, "netp_adopted": 0}
    )
    by_code = {g.code: g for g in report.gaps}
    price = by_code["mobile_broadband_price_gni_pct"]
    assert price.shortfall == 8  # 10% of GNI against the 2% target
    assert price.score_shortfall == 40  # goalposts 0-20: 90 points at target, 50 at 10%
    assert price.sg1_question == "Q4/1"
    assert by_code["netp_adopted"].sg1_question == "Q3/1"
    assert by_code["netp_adopted"].phase == "national_strategy"
    assert price.interventions


def _scale_weights(definition: MethodologyDefinition, factor: float) -> MethodologyDefinition:
    pillars = [
        p.model_copy(
            update={
                "weight": p.weight * factor,
                "indicators": [
                    i.model_copy(update={"weight": i.weight * factor}) for i in p.indicators
                ],
            }
        )
        for p in definition.pillars
    ]
    return definition.model_copy(update={"pillars": pillars})


@properties
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_percentages_are_accepted_exactly_between_0_and_100(value: float) -> None:
    assert (unit_problem(Unit.PERCENT, value) is None) == (0 <= value <= 100)


@properties
@given(st.sampled_from([u for u in Unit if u not in (Unit.PERCENT, Unit.BOOLEAN)]), finite)
def test_other_units_accept_exactly_the_non_negative_values(unit: Unit, value: float) -> None:
    assert (unit_problem(unit, value) is None) == (value >= 0)
