"""The aggregate of scored reviews, as properties of the pure rule."""

import math
import random

from hypothesis import given
from hypothesis import strategies as st

from request_intake.reviews.aggregate import (
    Criterion,
    Recommendation,
    ScoredReview,
    aggregate,
    review_overall,
)


@st.composite
def criteria(draw: st.DrawFn) -> list[Criterion]:
    count = draw(st.integers(min_value=1, max_value=6))
    result = []
    for index in range(count):
        low = draw(st.integers(min_value=0, max_value=10))
        high = draw(st.integers(min_value=low + 1, max_value=low + 10))
        weight = draw(st.floats(min_value=0.01, max_value=100, allow_nan=False))
        result.append(Criterion(f"c{index}", low, high, weight))
    return result


@st.composite
def form_and_reviews(draw: st.DrawFn) -> tuple[list[Criterion], list[ScoredReview]]:
    form = draw(criteria())
    count = draw(st.integers(min_value=0, max_value=8))
    reviews = [
        ScoredReview(
            {c.code: draw(st.integers(c.scale_min, c.scale_max)) for c in form},
            draw(st.sampled_from(Recommendation)),
        )
        for _ in range(count)
    ]
    return form, reviews


@given(form_and_reviews())
def test_the_overall_is_a_0_to_100_score_and_the_mean_of_the_reviews_overalls(
    case: tuple[list[Criterion], list[ScoredReview]],
) -> None:
    form, reviews = case
    result = aggregate(form, reviews)
    if not reviews:
        assert result.overall is None
        return
    assert result.overall is not None
    assert -1e-9 <= result.overall <= 100 + 1e-9
    overalls = [review_overall(form, review) for review in reviews]
    assert math.isclose(result.overall, sum(overalls) / len(overalls), abs_tol=1e-9)
    assert min(overalls) - 1e-9 <= result.overall <= max(overalls) + 1e-9


@given(form_and_reviews())
def test_each_criterion_mean_lies_between_its_lowest_and_highest_score(
    case: tuple[list[Criterion], list[ScoredReview]],
) -> None:
    form, reviews = case
    result = aggregate(form, reviews)
    assert [c.code for c in result.criteria] == [c.code for c in form]
    for criterion, summary in zip(form, result.criteria, strict=True):
        scores = [review.scores[criterion.code] for review in reviews]
        if not scores:
            assert (summary.mean, summary.lowest, summary.highest) == (None, None, None)
            continue
        assert summary.lowest == min(scores)
        assert summary.highest == max(scores)
        assert summary.mean is not None
        assert min(scores) - 1e-9 <= summary.mean <= max(scores) + 1e-9


@given(form_and_reviews())
def test_recommendations_are_counted_once_each(
    case: tuple[list[Criterion], list[ScoredReview]],
) -> None:
    form, reviews = case
    counts = aggregate(form, reviews).recommendations
    assert set(counts) == set(Recommendation)
    assert sum(counts.values()) == len(reviews)
    for recommendation in Recommendation:
        assert counts[recommendation] == sum(r.recommendation is recommendation for r in reviews)


@given(form_and_reviews(), st.randoms(use_true_random=False))
def test_the_order_of_the_reviews_does_not_matter(
    case: tuple[list[Criterion], list[ScoredReview]], shuffler: random.Random
) -> None:
    form, reviews = case
    shuffled = list(reviews)
    shuffler.shuffle(shuffled)
    first, second = aggregate(form, reviews), aggregate(form, shuffled)
    assert first.recommendations == second.recommendations
    if first.overall is None:
        assert second.overall is None
    else:
        assert second.overall is not None
        assert math.isclose(first.overall, second.overall, abs_tol=1e-9)


@given(criteria(), st.sampled_from(Recommendation))
def test_top_marks_score_100_and_bottom_marks_0(
    form: list[Criterion], recommendation: Recommendation
) -> None:
    top = ScoredReview({c.code: c.scale_max for c in form}, recommendation)
    bottom = ScoredReview({c.code: c.scale_min for c in form}, recommendation)
    assert math.isclose(review_overall(form, top), 100)
    assert math.isclose(review_overall(form, bottom), 0, abs_tol=1e-9)


@given(criteria(), st.floats(min_value=0.01, max_value=1000, allow_nan=False))
def test_scaling_every_weight_alike_changes_nothing(form: list[Criterion], factor: float) -> None:
    review = ScoredReview({c.code: c.scale_min + 1 for c in form}, Recommendation.MAYBE)
    scaled = [Criterion(c.code, c.scale_min, c.scale_max, c.weight * factor) for c in form]
    assert math.isclose(review_overall(form, review), review_overall(scaled, review))


def test_the_weights_decide_the_overall() -> None:
    form = [Criterion("relevance", 0, 5, 3), Criterion("feasibility", 0, 10, 1)]
    review = ScoredReview({"relevance": 5, "feasibility": 0}, Recommendation.YES)
    assert math.isclose(review_overall(form, review), 75)
