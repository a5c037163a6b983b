"""The aggregate of a request's scored reviews: a pure function of the form and the reviews.

Criteria may use different scales, so each score is first placed on 0-1 between its
scale's ends; the overall is the weighted mean of those shares, as a 0-100 score. The
per-criterion means stay in the criterion's own scale, as the reviewers gave them.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Recommendation(StrEnum):
    YES = "yes"
    MAYBE = "maybe"
    NO = "no"


@dataclass(frozen=True)
class Criterion:
    code: str
    scale_min: int
    scale_max: int
    weight: float

    def share(self, score: float) -> float:
        """Where `score` lies between the scale's ends, 0-1."""
        return (score - self.scale_min) / (self.scale_max - self.scale_min)


@dataclass(frozen=True)
class ScoredReview:
    scores: Mapping[str, int]  # criterion code -> score on its scale
    recommendation: Recommendation


@dataclass(frozen=True)
class CriterionAggregate:
    code: str
    mean: float | None  # on the criterion's scale; None without reviews
    lowest: int | None
    highest: int | None


@dataclass(frozen=True)
class Aggregate:
    reviews: int
    overall: float | None  # 0-100, weighted by the criteria's weights
    criteria: list[CriterionAggregate]
    recommendations: dict[Recommendation, int]


def review_overall(criteria: Sequence[Criterion], review: ScoredReview) -> float:
    """One review's weighted score, 0-100."""
    total_weight = sum(c.weight for c in criteria)
    weighted = sum(c.weight * c.share(review.scores[c.code]) for c in criteria)
    return 100 * weighted / total_weight


def _criterion(criterion: Criterion, reviews: Sequence[ScoredReview]) -> CriterionAggregate:
    scores = [review.scores[criterion.code] for review in reviews]
    if not scores:
        return CriterionAggregate(criterion.code, None, None, None)
    return CriterionAggregate(criterion.code, sum(scores) / len(scores), min(scores), max(scores))


def aggregate(criteria: Sequence[Criterion], reviews: Sequence[ScoredReview]) -> Aggregate:
    """Every review counts alike; every review scores every criterion of the form."""
    counts = Counter(review.recommendation for review in reviews)
    overalls = [review_overall(criteria, review) for review in reviews]
    return Aggregate(
        reviews=len(reviews),
        overall=sum(overalls) / len(overalls) if overalls else None,
        criteria=[_criterion(criterion, reviews) for criterion in criteria],
        recommendations={r: counts.get(r, 0) for r in Recommendation},
    )
