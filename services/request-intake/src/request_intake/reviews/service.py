"""Reviewers assigned to requests, the scored reviews they submit and amend, and what an
approver reads of them. Who may see what:

- an approver (`requests:approve`) sees every review of a request it can see;
- a reviewer sees the reviews of the requests it is assigned to, and nothing else;
- a focal point sees no review at all.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from c2r_common.auth import Principal, Scope
from c2r_common.pagination import PageParams, paginate
from c2r_common.problems import Conflict, Forbidden, InvalidField, NotFound
from request_intake.assistance_requests.models import AssistanceRequest
from request_intake.assistance_requests.service import get_visible
from request_intake.assistance_requests.workflow import Status
from request_intake.calls.models import Call
from request_intake.reviews.aggregate import (
    Criterion,
    Recommendation,
    ScoredReview,
    aggregate,
    review_overall,
)
from request_intake.reviews.models import Review, ReviewAssignment, ReviewForm, ReviewRevision
from request_intake.reviews.schemas import (
    AggregateOut,
    AssignmentIn,
    AssignmentOut,
    CriterionAggregateOut,
    QueueItemOut,
    RecommendationCounts,
    ReviewAmendment,
    ReviewBoardOut,
    ReviewerRole,
    ReviewFormIn,
    ReviewFormOut,
    ReviewIn,
    ReviewOut,
)

# Reviews are asked for, written and changed only while the request awaits its decision.
UNDECIDED = frozenset(
    {
        Status.SUBMITTED,
        Status.SCREENING,
        Status.INFO_REQUESTED,
        Status.RESUBMITTED,
        Status.UNDER_REVIEW,
    }
)


def is_approver(principal: Principal) -> bool:
    return principal.has_scope(Scope.REQUESTS_APPROVE)


def _require_undecided(request: AssistanceRequest, action: str) -> None:
    if request.status not in UNDECIDED:
        raise Conflict(
            f"Reviews are {action} only before the decision; this request is {request.status}.",
            problem_type="request-decided",
        )


# --- the call's form --------------------------------------------------------------------


async def get_form(db: AsyncSession, call_id: uuid.UUID) -> ReviewForm | None:
    return await db.get(ReviewForm, call_id)


async def require_form(db: AsyncSession, call_id: uuid.UUID) -> ReviewForm:
    form = await get_form(db, call_id)
    if form is None:
        raise NotFound(f"Call {call_id} has no review form.")
    return form


def form_out(form: ReviewForm) -> ReviewFormOut:
    return ReviewFormOut.model_validate(form, from_attributes=True)


def criteria_of(form: ReviewForm) -> list[Criterion]:
    return [
        Criterion(c["code"], c["scale_min"], c["scale_max"], c["weight"]) for c in form.criteria
    ]


async def _reviews_under_call(db: AsyncSession, call_id: uuid.UUID) -> int:
    statement = (
        select(func.count())
        .select_from(Review)
        .join(AssistanceRequest, AssistanceRequest.id == Review.request_id)
        .where(AssistanceRequest.call_id == call_id)
    )
    return int(await db.scalar(statement) or 0)


async def put_form(
    db: AsyncSession, *, call: Call, data: ReviewFormIn, principal: Principal, now: datetime
) -> ReviewForm:
    """Sets the call's form; refused once a review was scored on it, so that every review
    of a call is scored and aggregated on the same criteria."""
    if await _reviews_under_call(db, call.id):
        raise Conflict(
            "Reviews were already submitted on this call's form; it can no longer change.",
            problem_type="review-form-in-use",
        )
    form = await get_form(db, call.id) or ReviewForm(call_id=call.id)
    form.criteria = [criterion.model_dump() for criterion in data.criteria]
    form.reviews_required = data.reviews_required
    form.updated_by = principal.subject
    form.updated_at = now
    db.add(form)
    await db.flush()
    return form


# --- assignments ------------------------------------------------------------------------


async def assign(
    db: AsyncSession,
    *,
    request: AssistanceRequest,
    data: AssignmentIn,
    principal: Principal,
    now: datetime,
) -> ReviewAssignment:
    _require_undecided(request, "assigned")
    if data.reviewer == request.submitted_by:
        # The submitter would read every review of its own request through the assignment.
        raise Conflict(
            f"{data.reviewer} submitted this request and may not review it.",
            problem_type="reviewer-is-submitter",
        )
    if data.due_at <= now:
        raise InvalidField("body.due_at", "must be in the future", "The due date has passed.")
    if await _assignment_of(db, request.id, data.reviewer) is not None:
        raise Conflict(
            f"{data.reviewer} is already assigned to this request.",
            problem_type="reviewer-already-assigned",
        )
    assignment = ReviewAssignment(
        request_id=request.id,
        reviewer=data.reviewer,
        role=data.role,
        due_at=data.due_at,
        assigned_by=principal.subject,
        assigned_at=now,
    )
    db.add(assignment)
    await _flush_or_conflict(db, f"{data.reviewer} was assigned at the same time.")
    return assignment


async def _assignment_of(
    db: AsyncSession, request_id: uuid.UUID, reviewer: str
) -> ReviewAssignment | None:
    return await db.scalar(
        select(ReviewAssignment).where(
            ReviewAssignment.request_id == request_id, ReviewAssignment.reviewer == reviewer
        )
    )


async def _flush_or_conflict(db: AsyncSession, detail: str) -> None:
    # The unique constraints decide between two concurrent writers: the second is refused.
    try:
        await db.flush()
    except IntegrityError:
        raise Conflict(detail, problem_type="concurrent-review-change") from None


async def _review_ids(
    db: AsyncSession, assignment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    rows = await db.execute(
        select(Review.assignment_id, Review.id).where(Review.assignment_id.in_(assignment_ids))
    )
    return {row.assignment_id: row.id for row in rows}


def _assignment_out(
    assignment: ReviewAssignment, review_id: uuid.UUID | None, now: datetime
) -> AssignmentOut:
    return AssignmentOut(
        id=assignment.id,
        request_id=assignment.request_id,
        reviewer=assignment.reviewer,
        role=ReviewerRole(assignment.role),
        due_at=assignment.due_at,
        overdue=review_id is None and assignment.due_at < now,
        assigned_by=assignment.assigned_by,
        assigned_at=assignment.assigned_at,
        review_id=review_id,
    )


async def assignments_out(
    db: AsyncSession, assignments: Sequence[ReviewAssignment], now: datetime
) -> list[AssignmentOut]:
    reviews = await _review_ids(db, [a.id for a in assignments])
    return [_assignment_out(a, reviews.get(a.id), now) for a in assignments]


async def list_assignments(
    db: AsyncSession, *, request: AssistanceRequest, principal: Principal
) -> list[ReviewAssignment]:
    """An approver sees every reviewer of the request; a reviewer only itself."""
    statement = select(ReviewAssignment).where(ReviewAssignment.request_id == request.id)
    if not is_approver(principal):
        statement = statement.where(ReviewAssignment.reviewer == principal.subject)
    order = (ReviewAssignment.assigned_at, ReviewAssignment.id)
    return list(await db.scalars(statement.order_by(*order)))


async def queue(
    db: AsyncSession, *, principal: Principal, page: PageParams, now: datetime, pending: bool | None
) -> tuple[list[QueueItemOut], str | None]:
    """The caller's assignments, soonest due first (`pending`: without a review yet, or
    only those with one)."""
    statement = (
        select(ReviewAssignment)
        .join(AssistanceRequest, AssistanceRequest.id == ReviewAssignment.request_id)
        .where(ReviewAssignment.reviewer == principal.subject)
    )
    if principal.countries is not None:
        countries = sorted(principal.countries)
        statement = statement.where(AssistanceRequest.country_iso3.in_(countries))
    if pending is not None:
        reviewed = select(Review.assignment_id)
        condition = ReviewAssignment.id.in_(reviewed)
        statement = statement.where(~condition if pending else condition)
    order = (ReviewAssignment.due_at, ReviewAssignment.id)
    assignments, next_cursor = await paginate(db, statement, order, page)
    requests = await _requests_by_id(db, [a.request_id for a in assignments])
    reviews = await _review_ids(db, [a.id for a in assignments])
    items = [_queue_item(a, requests[a.request_id], reviews.get(a.id), now) for a in assignments]
    return items, next_cursor


async def _requests_by_id(
    db: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, AssistanceRequest]:
    found = await db.scalars(select(AssistanceRequest).where(AssistanceRequest.id.in_(ids)))
    return {request.id: request for request in found}


def _queue_item(
    assignment: ReviewAssignment,
    request: AssistanceRequest,
    review_id: uuid.UUID | None,
    now: datetime,
) -> QueueItemOut:
    return QueueItemOut(
        **_assignment_out(assignment, review_id, now).model_dump(),
        request_title=request.title,
        country_iso3=request.country_iso3,
        request_status=Status(request.status),
        call_id=request.call_id,
    )


# --- reviews ----------------------------------------------------------------------------


def _check_scores(form: ReviewForm, scores: dict[str, int]) -> None:
    criteria = {c.code: c for c in criteria_of(form)}
    unknown = sorted(set(scores) - set(criteria))
    missing = sorted(set(criteria) - set(scores))
    if unknown or missing:
        message = f"score every criterion of the form ({', '.join(sorted(criteria))})"
        raise InvalidField("body.scores", message, f"Unknown: {unknown}; missing: {missing}.")
    for code, score in scores.items():
        criterion = criteria[code]
        if not criterion.scale_min <= score <= criterion.scale_max:
            raise InvalidField(
                f"body.scores.{code}",
                f"must be between {criterion.scale_min} and {criterion.scale_max}",
            )


def _revision(
    review: Review, note: str | None, principal: Principal, now: datetime
) -> ReviewRevision:
    return ReviewRevision(
        review_id=review.id,
        revision=review.revision,
        scores=dict(review.scores),
        recommendation=review.recommendation,
        comments=review.comments,
        note=note,
        recorded_by=principal.subject,
        recorded_at=now,
    )


async def _assignment_for_submission(
    db: AsyncSession, request: AssistanceRequest, principal: Principal
) -> ReviewAssignment:
    assignment = await _assignment_of(db, request.id, principal.subject)
    if assignment is None or not principal.has_scope(Scope.REQUESTS_REVIEW):
        raise Forbidden("Only a reviewer assigned to this request may review it.")
    return assignment


async def submit(
    db: AsyncSession,
    *,
    request: AssistanceRequest,
    data: ReviewIn,
    principal: Principal,
    now: datetime,
) -> Review:
    """The assigned reviewer's review, once; its first revision is written with it."""
    assignment = await _assignment_for_submission(db, request, principal)
    _require_undecided(request, "submitted")
    form = await _form_for_review(db, request)
    _check_scores(form, data.scores)
    existing = await db.scalar(select(Review.id).where(Review.assignment_id == assignment.id))
    if existing is not None:
        raise Conflict(
            "You have already reviewed this request; amend your review instead.",
            problem_type="review-already-submitted",
            extra={"review_id": str(existing)},
        )
    review = Review(
        id=uuid.uuid4(),
        assignment_id=assignment.id,
        request_id=request.id,
        reviewer=principal.subject,
        scores=dict(data.scores),
        recommendation=data.recommendation,
        comments=data.comments,
        revision=1,
        submitted_at=now,
        amended_at=None,
    )
    db.add(review)
    db.add(_revision(review, None, principal, now))
    await _flush_or_conflict(db, "You submitted a review of this request at the same time.")
    return review


async def _form_for_review(db: AsyncSession, request: AssistanceRequest) -> ReviewForm:
    form = await get_form(db, request.call_id)
    if form is None:
        raise Conflict(
            "The request's call has no review form yet; ask its author to set one.",
            problem_type="no-review-form",
        )
    return form


async def amend(
    db: AsyncSession,
    *,
    review: Review,
    request: AssistanceRequest,
    data: ReviewAmendment,
    principal: Principal,
    now: datetime,
) -> Review:
    """A new revision of the author's review; the earlier ones stay in its history."""
    if review.reviewer != principal.subject or not principal.has_scope(Scope.REQUESTS_REVIEW):
        raise Forbidden("Only the review's author may amend it.")
    _require_undecided(request, "amended")
    _check_scores(await _form_for_review(db, request), data.scores)
    review.scores = dict(data.scores)
    review.recommendation = data.recommendation
    review.comments = data.comments
    review.revision += 1
    review.amended_at = now
    db.add(_revision(review, data.note, principal, now))
    await _flush_or_conflict(db, "The review was amended at the same time; read it again.")
    return review


async def is_approver_or_assigned(
    db: AsyncSession, request: AssistanceRequest, principal: Principal
) -> bool:
    """An approver, or a reviewer assigned to the request: who reads what its review needs
    (its reviews, its evidence)."""
    if is_approver(principal):
        return True
    if not principal.has_scope(Scope.REQUESTS_REVIEW):
        return False
    return await _assignment_of(db, request.id, principal.subject) is not None


async def may_read_reviews(
    db: AsyncSession, request: AssistanceRequest, principal: Principal
) -> None:
    if not await is_approver_or_assigned(db, request, principal):
        raise Forbidden("A request's reviews are for its approvers and assigned reviewers.")


async def get_review(
    db: AsyncSession, review_id: uuid.UUID, principal: Principal
) -> tuple[Review, AssistanceRequest]:
    """The review with its request, if the caller may read it; else a 404 like a missing
    one (a review's existence is no business of those who may not read it)."""
    review = await db.get(Review, review_id)
    if review is None:
        raise NotFound(f"No review {review_id}.")
    try:
        request = await get_visible(db, review.request_id, principal)
        await may_read_reviews(db, request, principal)
    except (NotFound, Forbidden):
        raise NotFound(f"No review {review_id}.") from None
    return review, request


async def revisions(
    db: AsyncSession, review: Review, page: PageParams
) -> tuple[list[ReviewRevision], str | None]:
    statement = select(ReviewRevision).where(ReviewRevision.review_id == review.id)
    return await paginate(db, statement, (ReviewRevision.revision,), page)


async def review_out(db: AsyncSession, review: Review, request: AssistanceRequest) -> ReviewOut:
    assignment = await db.get(ReviewAssignment, review.assignment_id)
    form = await get_form(db, request.call_id)
    # A review exists only with its assignment, and on its call's form.
    assert assignment is not None
    assert form is not None
    return _review_out(review, ReviewerRole(assignment.role), criteria_of(form))


def _review_out(review: Review, role: ReviewerRole, criteria: list[Criterion]) -> ReviewOut:
    scored = ScoredReview(review.scores, Recommendation(review.recommendation))
    return ReviewOut(
        id=review.id,
        request_id=review.request_id,
        assignment_id=review.assignment_id,
        reviewer=review.reviewer,
        role=role,
        scores=review.scores,
        overall=round(review_overall(criteria, scored), 2),
        recommendation=Recommendation(review.recommendation),
        comments=review.comments,
        revision=review.revision,
        submitted_at=review.submitted_at,
        amended_at=review.amended_at,
    )


async def _reviews_of(db: AsyncSession, request: AssistanceRequest) -> list[tuple[Review, str]]:
    rows = await db.execute(
        select(Review, ReviewAssignment.role)
        .join(ReviewAssignment, ReviewAssignment.id == Review.assignment_id)
        .where(Review.request_id == request.id)
        .order_by(Review.submitted_at, Review.id)
    )
    return [(review, role) for review, role in rows]


def _aggregate_out(form: ReviewForm, reviews: list[Review]) -> AggregateOut:
    scored = [ScoredReview(r.scores, Recommendation(r.recommendation)) for r in reviews]
    result = aggregate(criteria_of(form), scored)
    labels = {c["code"]: c for c in form.criteria}
    return AggregateOut(
        reviews=result.reviews,
        overall=None if result.overall is None else round(result.overall, 2),
        criteria=[
            CriterionAggregateOut(
                code=c.code,
                label=labels[c.code]["label"],
                weight=labels[c.code]["weight"],
                mean=None if c.mean is None else round(c.mean, 2),
                lowest=c.lowest,
                highest=c.highest,
            )
            for c in result.criteria
        ],
        recommendations=RecommendationCounts(
            **{r.value: n for r, n in result.recommendations.items()}
        ),
    )


async def board(
    db: AsyncSession, *, request: AssistanceRequest, principal: Principal
) -> ReviewBoardOut:
    """Every review of the request with their aggregate, for those who may read them."""
    await may_read_reviews(db, request, principal)
    form = await require_form(db, request.call_id)
    rows = await _reviews_of(db, request)
    criteria = criteria_of(form)
    reviews = [review for review, _ in rows]
    return ReviewBoardOut(
        request_id=request.id,
        reviews_required=form.reviews_required,
        reviews_submitted=len(reviews),
        reviews_missing=max(0, form.reviews_required - len(reviews)),
        aggregate=_aggregate_out(form, reviews),
        reviews=[_review_out(r, ReviewerRole(role), criteria) for r, role in rows],
    )


# --- approval ---------------------------------------------------------------------------


async def require_reviews_for_approval(db: AsyncSession, request: AssistanceRequest) -> None:
    """Approval waits for the number of reviews the call's form asks for (none without a
    form)."""
    form = await get_form(db, request.call_id)
    required = form.reviews_required if form is not None else 0
    submitted = int(
        await db.scalar(select(func.count()).where(Review.request_id == request.id)) or 0
    )
    missing = required - submitted
    if missing > 0:
        raise Conflict(
            f"The call asks for {required} review(s) before approval; {submitted} submitted, "
            f"{missing} missing.",
            problem_type="reviews-missing",
            extra={
                "reviews_required": required,
                "reviews_submitted": submitted,
                "missing": missing,
            },
        )
