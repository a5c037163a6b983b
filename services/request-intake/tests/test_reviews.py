"""Reviewers assigned by an approver, scored reviews on the call's form, who sees them, and
approval waiting for the reviews the call asks for."""

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from c2r_common.db import Database
from c2r_common.testing import TokenFactory, asgi_client
from request_intake.assistance_requests.models import AssistanceRequest, RequestEvent
from request_intake.notifications.models import NOTIFICATIONS
from request_intake.outbox.service import HANDOFF_EVENT_TYPE
from request_intake.reviews.models import Review, ReviewRevision
from request_intake.sla.models import SlaClock

FORM = {
    "criteria": [
        {"code": "relevance", "label": "Relevance to C2R", "scale_max": 5, "weight": 2},
        {"code": "feasibility", "label": "Feasibility", "scale_max": 5, "weight": 1},
    ],
    "reviews_required": 2,
}
DUE = "2026-06-20T17:00:00Z"


def review_body(relevance: int, feasibility: int, recommendation: str) -> dict[str, Any]:
    return {
        "scores": {"relevance": relevance, "feasibility": feasibility},
        "recommendation": recommendation,
        "comments": "Clear needs.",
    }


class Reviews:
    def __init__(self, api: Any, auth_headers: TokenFactory) -> None:
        self.api = api
        self.http: httpx.AsyncClient = api.client
        self.auth_headers = auth_headers

    def reviewer(self, subject: str) -> dict[str, str]:
        return self.auth_headers("requests:read", "requests:review", subject=subject)

    async def request_under_review(self, focal: dict[str, str], form: Any = FORM) -> str:
        call = await self.api.create_call()
        if form is not None:
            put = await self.http.put(
                f"/v1/calls/{call['id']}/review-form", json=form, headers=self.api.staff
            )
            assert put.status_code == 200, put.text
        request = await self.api.submit(focal, call["id"])
        await self.api.walk(request["id"], "screening", "under_review")
        return str(request["id"])

    async def assign(
        self, request_id: str, reviewer: str, headers: dict[str, str], role: str = "technical"
    ) -> httpx.Response:
        return await self.http.post(
            f"/v1/requests/{request_id}/reviewers",
            json={"reviewer": reviewer, "role": role, "due_at": DUE},
            headers=headers,
        )

    async def submit(
        self, request_id: str, headers: dict[str, str], *scores: Any
    ) -> httpx.Response:
        return await self.http.post(
            f"/v1/requests/{request_id}/reviews", json=review_body(*scores), headers=headers
        )


@pytest.fixture
def reviews(api: Any, auth_headers: TokenFactory, clock: Any) -> Reviews:
    return Reviews(api, auth_headers)


async def test_two_assigned_reviewers_score_and_approval_shows_the_aggregate(
    reviews: Reviews, api: Any, approver: dict[str, str], rwanda: dict[str, str], clock: Any
) -> None:
    request_id = await reviews.request_under_review(rwanda)
    alice, bob = reviews.reviewer("alice"), reviews.reviewer("bob")
    assert (await reviews.assign(request_id, "alice", approver, "screening")).status_code == 201
    assert (await reviews.assign(request_id, "bob", approver)).status_code == 201

    refused = await api.move(approver, request_id, "approved")
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["missing"] == 2
    assert "2 missing" in refused.json()["detail"]

    assert (await reviews.submit(request_id, alice, 5, 2, "yes")).status_code == 201
    one_missing = await api.move(approver, request_id, "approved")
    assert one_missing.status_code == 409
    assert one_missing.json()["missing"] == 1
    clock.advance(hours=1)
    submitted = await reviews.submit(request_id, bob, 3, 4, "maybe")
    assert submitted.status_code == 201, submitted.text
    assert submitted.json()["overall"] == pytest.approx(100 * (2 * 3 / 5 + 4 / 5) / 3, abs=0.01)

    approved = await api.move(approver, request_id, "approved")
    assert approved.status_code == 200, approved.text
    board = await reviews.http.get(f"/v1/requests/{request_id}/reviews", headers=approver)
    assert board.status_code == 200, board.text
    body = board.json()
    assert (body["reviews_submitted"], body["reviews_missing"]) == (2, 0)
    assert [r["reviewer"] for r in body["reviews"]] == ["alice", "bob"]
    assert [r["role"] for r in body["reviews"]] == ["screening", "technical"]
    aggregate = body["aggregate"]
    assert aggregate["recommendations"] == {"yes": 1, "maybe": 1, "no": 0}
    relevance, feasibility = aggregate["criteria"]
    assert (relevance["mean"], relevance["lowest"], relevance["highest"]) == (4.0, 3, 5)
    assert feasibility["mean"] == 3.0
    # Weighted 2:1 on 0-5 scales: (2 x 4/5 + 3/5) / 3.
    assert aggregate["overall"] == pytest.approx(100 * (2 * 4 / 5 + 3 / 5) / 3, abs=0.01)


async def test_each_reviewer_has_a_queue_soonest_due_first_with_overdue_flagged(
    reviews: Reviews, approver: dict[str, str], rwanda: dict[str, str], clock: Any
) -> None:
    first = await reviews.request_under_review(rwanda)
    second = await reviews.request_under_review(rwanda)
    await reviews.http.post(
        f"/v1/requests/{second}/reviewers",
        json={"reviewer": "carol", "role": "screening", "due_at": "2026-06-15T12:00:00+02:00"},
        headers=approver,
    )
    assert (await reviews.assign(first, "carol", approver)).status_code == 201
    clock.advance(minutes=1)
    assert (await reviews.assign(first, "dave", approver)).status_code == 201
    carol = reviews.reviewer("carol")

    queue = (await reviews.http.get("/v1/reviews/mine", headers=carol)).json()
    assert [item["request_id"] for item in queue["items"]] == [second, first]
    assert queue["items"][0]["due_at"] == "2026-06-15T10:00:00Z"
    assert queue["items"][1]["request_title"]
    assert not any(item["overdue"] for item in queue["items"])

    assert (await reviews.submit(first, carol, 4, 4, "yes")).status_code == 201
    clock.advance(days=7)
    pending = await reviews.http.get("/v1/reviews/mine?pending=true", headers=carol)
    [item] = pending.json()["items"]
    assert (item["request_id"], item["overdue"], item["review_id"]) == (second, True, None)
    done = (await reviews.http.get("/v1/reviews/mine?pending=false", headers=carol)).json()
    assert [i["request_id"] for i in done["items"]] == [first]
    assert done["items"][0]["overdue"] is False  # reviewed: no longer owed

    # A reviewer sees its own assignment of a request; the approver every reviewer.
    mine = await reviews.http.get(f"/v1/requests/{first}/reviewers", headers=carol)
    assert [a["reviewer"] for a in mine.json()] == ["carol"]
    every = await reviews.http.get(f"/v1/requests/{first}/reviewers", headers=approver)
    assert [a["reviewer"] for a in every.json()] == ["carol", "dave"]


async def test_assignments_are_for_approvers_once_per_reviewer_and_due_later(
    reviews: Reviews,
    approver: dict[str, str],
    reviewer: dict[str, str],
    rwanda: dict[str, str],
) -> None:
    request_id = await reviews.request_under_review(rwanda)
    assert (await reviews.assign(request_id, "erin", reviewer)).status_code == 403
    assert (await reviews.assign(request_id, "erin", rwanda)).status_code == 403
    assert (await reviews.assign(request_id, "erin", approver)).status_code == 201
    again = await reviews.assign(request_id, "erin", approver)
    assert again.status_code == 409
    assert again.json()["type"].endswith("reviewer-already-assigned")
    past = await reviews.http.post(
        f"/v1/requests/{request_id}/reviewers",
        json={"reviewer": "frank", "role": "technical", "due_at": "2026-06-01T00:00:00Z"},
        headers=approver,
    )
    assert past.status_code == 422
    assert past.json()["errors"][0]["field"] == "body.due_at"


async def test_the_submitter_of_a_request_is_not_its_reviewer(
    reviews: Reviews, approver: dict[str, str], rwanda: dict[str, str]
) -> None:
    request_id = await reviews.request_under_review(rwanda)  # submitted by rw-focal
    refused = await reviews.assign(request_id, "rw-focal", approver)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("reviewer-is-submitter")
    listed = await reviews.http.get(f"/v1/requests/{request_id}/reviewers", headers=approver)
    assert listed.json() == []
    # Even holding the review scope, the submitter reads no review of its own request.
    submitter_reviewer = reviews.auth_headers(
        "requests:read", "requests:review", countries=["RWA"], subject="rw-focal"
    )
    board = f"/v1/requests/{request_id}/reviews"
    assert (await reviews.http.get(board, headers=submitter_reviewer)).status_code == 403


async def test_a_duplicate_criterion_code_is_named_by_its_place_in_the_form(
    reviews: Reviews, api: Any
) -> None:
    call = await api.create_call()
    criteria = [
        {"code": "relevance", "label": "Relevance"},
        {"code": "feasibility", "label": "Feasibility"},
        {"code": "relevance", "label": "Relevance again"},
    ]
    refused = await reviews.http.put(
        f"/v1/calls/{call['id']}/review-form",
        json={"criteria": criteria, "reviews_required": 1},
        headers=api.staff,
    )
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "body.criteria.2.code"
    assert "unique" in error["message"]


async def test_a_review_is_submitted_once_and_amended_with_its_history(
    reviews: Reviews, approver: dict[str, str], rwanda: dict[str, str], clock: Any
) -> None:
    request_id = await reviews.request_under_review(rwanda)
    await reviews.assign(request_id, "gina", approver)
    gina = reviews.reviewer("gina")
    created = await reviews.submit(request_id, gina, 2, 2, "no")
    assert created.status_code == 201
    review_id = created.json()["id"]
    twice = await reviews.submit(request_id, gina, 5, 5, "yes")
    assert twice.status_code == 409
    assert twice.json()["review_id"] == review_id

    clock.advance(hours=2)
    amendment = review_body(4, 3, "yes") | {"note": "read the annexed letter"}
    amended = await reviews.http.put(f"/v1/reviews/{review_id}", json=amendment, headers=gina)
    assert amended.status_code == 200, amended.text
    assert (amended.json()["revision"], amended.json()["recommendation"]) == (2, "yes")
    assert amended.json()["amended_at"] == "2026-06-10T10:00:00Z"
    other = reviews.reviewer("harry")
    await reviews.assign(request_id, "harry", approver)
    by_other = await reviews.http.put(f"/v1/reviews/{review_id}", json=amendment, headers=other)
    assert by_other.status_code == 403

    history = await reviews.http.get(f"/v1/reviews/{review_id}/revisions", headers=approver)
    revisions = history.json()["items"]
    assert [(r["revision"], r["recommendation"], r["note"]) for r in revisions] == [
        (1, "no", None),
        (2, "yes", "read the annexed letter"),
    ]
    assert revisions[0]["scores"] == {"relevance": 2, "feasibility": 2}


async def test_scores_follow_the_calls_form(
    reviews: Reviews, approver: dict[str, str], rwanda: dict[str, str]
) -> None:
    request_id = await reviews.request_under_review(rwanda)
    await reviews.assign(request_id, "ivan", approver)
    ivan = reviews.reviewer("ivan")
    out_of_scale = await reviews.submit(request_id, ivan, 6, 1, "yes")
    assert out_of_scale.status_code == 422
    assert out_of_scale.json()["errors"][0]["field"] == "body.scores.relevance"
    partial = await reviews.http.post(
        f"/v1/requests/{request_id}/reviews",
        json={"scores": {"relevance": 3}, "recommendation": "yes"},
        headers=ivan,
    )
    assert partial.status_code == 422
    assert "feasibility" in partial.json()["detail"]
    # Once scored, the form stays as it was, so that every review is read on it.
    assert (await reviews.submit(request_id, ivan, 3, 3, "maybe")).status_code == 201
    request = (await reviews.http.get(f"/v1/requests/{request_id}", headers=approver)).json()
    changed = await reviews.http.put(
        f"/v1/calls/{request['call_id']}/review-form",
        json=FORM | {"reviews_required": 1},
        headers=reviews.api.staff,
    )
    assert changed.status_code == 409
    form = await reviews.http.get(f"/v1/calls/{request['call_id']}/review-form", headers=ivan)
    assert form.json()["reviews_required"] == 2


async def test_without_a_form_a_call_needs_no_review_and_takes_none(
    reviews: Reviews, api: Any, approver: dict[str, str], rwanda: dict[str, str]
) -> None:
    request_id = await reviews.request_under_review(rwanda, form=None)
    await reviews.assign(request_id, "jane", approver)
    refused = await reviews.submit(request_id, reviews.reviewer("jane"), 1, 1, "no")
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("no-review-form")
    assert (await api.move(approver, request_id, "approved")).status_code == 200
    late = await reviews.assign(request_id, "kim", approver)
    assert late.status_code == 409  # decided: no more reviewers


async def test_reviews_are_seen_by_approvers_and_assigned_reviewers_only(
    reviews: Reviews,
    approver: dict[str, str],
    rwanda: dict[str, str],
    auth_headers: TokenFactory,
) -> None:
    request_id = await reviews.request_under_review(rwanda)
    await reviews.assign(request_id, "lena", approver)
    lena = reviews.reviewer("lena")
    review_id = (await reviews.submit(request_id, lena, 3, 3, "yes")).json()["id"]
    board = f"/v1/requests/{request_id}/reviews"
    review = f"/v1/reviews/{review_id}"

    assert (await reviews.http.get(board, headers=lena)).status_code == 200
    assert (await reviews.http.get(review, headers=lena)).status_code == 200
    # A reviewer not assigned to the request sees none of its reviews.
    stranger = reviews.reviewer("mark")
    assert (await reviews.http.get(board, headers=stranger)).status_code == 403
    assert (await reviews.http.get(review, headers=stranger)).status_code == 404
    assert (await reviews.http.get(f"{review}/revisions", headers=stranger)).status_code == 404
    assert (await reviews.submit(request_id, stranger, 1, 1, "no")).status_code == 403
    queue = await reviews.http.get("/v1/reviews/mine", headers=stranger)
    assert queue.json()["items"] == []
    # The focal point never sees a review, not even of its own request.
    for path in (board, review, f"{review}/revisions", f"/v1/requests/{request_id}/reviewers"):
        assert (await reviews.http.get(path, headers=rwanda)).status_code == 403, path
    assert (await reviews.http.get("/v1/reviews/mine", headers=rwanda)).status_code == 403
    # Outside the caller's countries a request and its reviews are missing, not forbidden.
    kenya_approver = auth_headers("requests:read", "requests:approve", countries=["KEN"])
    for path in (board, f"/v1/requests/{request_id}/reviewers"):
        assert (await reviews.http.get(path, headers=kenya_approver)).status_code == 404, path
    assert (await reviews.http.get(review, headers=kenya_approver)).status_code == 404
    assert (await reviews.assign(request_id, "nina", kenya_approver)).status_code == 404
    assert (await reviews.http.get(board, headers=approver)).status_code == 200


# --- real commits ---------------------------------------------------------------------


async def _stored(database_url: str) -> tuple[list[Review], list[ReviewRevision]]:
    database = Database(database_url)
    try:
        async with database.sessionmaker() as db:
            found = list(await db.scalars(select(Review)))
            history = list(await db.scalars(select(ReviewRevision).order_by("revision")))
            return found, history
    finally:
        await database.dispose()


async def test_a_review_and_its_history_are_committed_together(
    committing_app: FastAPI, auth_headers: TokenFactory, api_for: Any, clock: Any
) -> None:
    url = committing_app.state.settings.database_url
    approver = auth_headers("requests:read", "requests:approve", subject="approver")
    rwanda = auth_headers("requests:submit", "requests:read", countries=["RWA"])
    async with asgi_client(committing_app) as http:
        committing_app.state.clock = clock
        flows = Reviews(api_for(http), auth_headers)
        request_id = await flows.request_under_review(rwanda)
        await flows.assign(request_id, "olga", approver)
        olga = flows.reviewer("olga")
        review_id = (await flows.submit(request_id, olga, 4, 2, "maybe")).json()["id"]
        # Seen from another session once acknowledged: the review with its first revision.
        found, history = await _stored(url)
        assert [str(r.id) for r in found] == [review_id]
        assert [(h.revision, h.recommendation) for h in history] == [(1, "maybe")]

        amendment = review_body(5, 2, "yes") | {"note": "second reading"}
        amended = await http.put(f"/v1/reviews/{review_id}", json=amendment, headers=olga)
        assert amended.status_code == 200
        found, history = await _stored(url)
        assert (found[0].revision, found[0].recommendation) == (2, "yes")
        assert [h.revision for h in history] == [1, 2]

        # A refused amendment changes neither the review nor its history.
        refused = review_body(9, 2, "no") | {"note": "out of scale"}
        bad = await http.put(f"/v1/reviews/{review_id}", json=refused, headers=olga)
        assert bad.status_code == 422
        found, history = await _stored(url)
        assert (found[0].revision, found[0].recommendation) == (2, "yes")
        assert [h.revision for h in history] == [1, 2]


async def _request_state(database_url: str, request_id: str) -> dict[str, Any]:
    """What a refused move must leave as it was, read in a session of its own."""
    database = Database(database_url)
    try:
        async with database.sessionmaker() as db:
            request = await db.get(AssistanceRequest, uuid.UUID(request_id))
            assert request is not None
            events = await db.scalars(
                select(RequestEvent.to_status).where(RequestEvent.request_id == request.id)
            )
            clocks = await db.scalars(
                select(SlaClock).where(SlaClock.request_id == request.id).order_by(SlaClock.id)
            )
            e = NOTIFICATIONS.event
            outbox = await db.scalars(select(e.id).where(e.type == HANDOFF_EVENT_TYPE))
            return {
                "status": (request.status, request.version, request.decided_at),
                "history": list(events),
                "clocks": [
                    (c.target, c.stage, c.due_at, c.paused_at, c.stopped_at, c.cancelled)
                    for c in clocks
                ],
                "outbox": list(outbox),
            }
    finally:
        await database.dispose()


async def test_a_refused_approval_commits_nothing_of_the_move(
    committing_app: FastAPI, auth_headers: TokenFactory, api_for: Any, clock: Any
) -> None:
    url = committing_app.state.settings.database_url
    approver = auth_headers("requests:read", "requests:approve", subject="approver")
    rwanda = auth_headers("requests:submit", "requests:read", countries=["RWA"])
    async with asgi_client(committing_app) as http:
        committing_app.state.clock = clock
        api = api_for(http)
        flows = Reviews(api, auth_headers)
        request_id = await flows.request_under_review(rwanda)  # an assessment request
        await flows.assign(request_id, "paul", approver)
        before = await _request_state(url, request_id)
        assert before["status"][0] == "under_review"
        assert before["clocks"], "the submission started SLA clocks"
        assert before["outbox"] == []

        clock.advance(days=1)
        refused = await api.move(approver, request_id, "approved")
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"].endswith("reviews-missing")
        # The move was applied in the session before the check: none of it is committed.
        assert await _request_state(url, request_id) == before

        # Once the reviews are in, the same move commits all of it.
        await flows.assign(request_id, "quinn", approver)
        for name in ("paul", "quinn"):
            submitted = await flows.submit(request_id, flows.reviewer(name), 4, 4, "yes")
            assert submitted.status_code == 201, submitted.text
        assert (await api.move(approver, request_id, "approved")).status_code == 200
        after = await _request_state(url, request_id)
        assert after["status"][0] == "approved"
        assert after["history"] == [*before["history"], "approved"]
        assert after["clocks"] != before["clocks"]
        assert len(after["outbox"]) == 1
