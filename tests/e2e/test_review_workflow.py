"""Reviewers through each gateway (nginx before the services on PostgreSQL, then the
embedded default on SQLite): an approver assigns two reviewers, both read the evidence pack
(assessment-api and school-monitor reached over REST through the gateway) and submit scored
reviews, approval waits for them and then shows their aggregate."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from topology import Topology

from assessment_api.methodology.defaults import DEFAULT_METHODOLOGY
from assessment_api.methodology.schemas import Unit
from c2r_common.auth import mint_token

FORM = {
    "criteria": [
        {"code": "relevance", "label": "Relevance to C2R", "scale_max": 5, "weight": 2},
        {"code": "feasibility", "label": "Feasibility", "scale_max": 5, "weight": 1},
    ],
    "reviews_required": 2,
}


def _headers(gateway: Topology, subject: str, *scopes: str, countries: Any = None) -> Any:
    token = mint_token(
        gateway.secret,
        subject=subject,
        scopes=scopes,
        countries=countries,
        issuer=gateway.issuer,
        audience="c2r-platform",
    )
    return {"Authorization": f"Bearer {token}"}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json()


def _request_under_review(http: httpx.Client, gateway: Topology, focal: Any) -> str:
    staff = _headers(gateway, "e2e-staff", "calls:write", "requests:review", "requests:read")
    now = datetime.now(UTC)
    call = _ok(
        http.post(
            "/v1/calls",
            json={
                "title": f"C2R training for African Member States {uuid.uuid4().hex[:6]}",
                "assistance_types": ["training"],
                "eligible_regions": ["Africa"],
                "time_zone": "UTC",
                "opens_at": (now - timedelta(days=1)).isoformat(),
                "closes_at": (now + timedelta(days=30)).isoformat(),
            },
            headers=staff,
        ),
        201,
    )
    _ok(http.put(f"/v1/calls/{call['id']}/review-form", json=FORM, headers=staff))
    request = _ok(
        http.post(
            "/v1/requests",
            json={
                "call_id": call["id"],
                "country_iso3": "RWA",
                "requesting_entity": "Ministry of ICT and Innovation",
                "entity_type": "ministry",
                "focal_point": {"name": "A. Uwase", "email": "focal@minict.gov.rw"},
                "assistance_type": "training",
                "title": "Training on national emergency telecommunication plans",
                "description": "A workshop for the regulator's staff.",
            },
            headers=focal,
        ),
        201,
    )
    for status in ("screening", "under_review"):
        move = {"to": status, "comment": f"to {status}"}
        _ok(http.post(f"/v1/requests/{request['id']}/transitions", json=move, headers=staff))
    return str(request["id"])


def _value_for(unit: Unit) -> float:
    return {Unit.PERCENT: 50.0, Unit.BOOLEAN: 1.0}.get(unit, 5.0)


def _latest_assessment_of_rwanda(http: httpx.Client, gateway: Topology) -> str:
    """Completes an assessment of Rwanda (or finds the one already there for the period)
    and names the latest finished one as assessment-api's comparison chooses it, as the
    evidence pack must."""
    admin = _headers(gateway, "e2e-admin", "admin")
    if http.get("/v1/methodologies/latest", headers=admin).status_code != 200:
        methodology = DEFAULT_METHODOLOGY.model_dump_json()
        json_type = {"Content-Type": "application/json"}
        _ok(http.post("/v1/methodologies", content=methodology, headers=admin | json_type), 201)
    body = {"country_iso3": "RWA", "period": "2019", "title": "Rwanda 2019"}
    created = http.post("/v1/assessments", json=body, headers=admin)
    assert created.status_code in (201, 409), created.text
    if created.status_code == 201:
        path = f"/v1/assessments/{created.json()['id']}"
        values = [
            {"code": i.code, "value": _value_for(i.unit), "year": 2019, "source": "e2e"}
            for i in DEFAULT_METHODOLOGY.indicators()
            if i.required
        ]
        _ok(http.post(f"{path}/indicators", json={"values": values}, headers=admin))
        for status in ("data_collection", "validation", "completed"):
            _ok(http.post(f"{path}/transitions", json={"to": status}, headers=admin))
    compared = _ok(http.get("/v1/assessments/compare?countries=RWA", headers=admin))
    [latest] = compared["rows"]
    return str(latest["assessment_id"])


def test_two_reviewers_score_with_the_evidence_pack_and_approval_shows_the_aggregate(
    gateway: Topology,
) -> None:
    focal = _headers(gateway, "e2e-focal", "requests:submit", "requests:read", countries=["RWA"])
    approver = _headers(gateway, "e2e-approver", "requests:read", "requests:approve")
    reviewers = {
        name: _headers(gateway, name, "requests:read", "requests:review")
        for name in ("e2e-reviewer-a", "e2e-reviewer-b")
    }
    with httpx.Client(base_url=gateway.gateway, timeout=30) as http:
        latest = _latest_assessment_of_rwanda(http, gateway)
        request_id = _request_under_review(http, gateway, focal)
        due = (datetime.now(UTC) + timedelta(days=10)).isoformat()
        for (name, headers), role in zip(
            reviewers.items(), ("screening", "technical"), strict=True
        ):
            assignment = {"reviewer": name, "role": role, "due_at": due}
            _ok(
                http.post(
                    f"/v1/requests/{request_id}/reviewers", json=assignment, headers=approver
                ),
                201,
            )
            queue = _ok(http.get("/v1/reviews/mine?pending=true", headers=headers))
            assert request_id in [item["request_id"] for item in queue["items"]]

        # Both reviewers read the evidence, gathered by request-intake over REST.
        for headers in reviewers.values():
            pack = _ok(http.get(f"/v1/requests/{request_id}/evidence", headers=headers))
            assert pack["assessment"]["status"] == "available", pack["assessment"]
            assert pack["assessment"]["assessment_id"] == latest
            assert pack["connectivity"]["status"] == "available", pack["connectivity"]
            assert pack["connectivity"]["summary"]["iso3"] == "RWA"
        # The focal point sees neither the evidence nor any review.
        for path in ("evidence", "reviews"):
            refused = http.get(f"/v1/requests/{request_id}/{path}", headers=focal)
            assert refused.status_code == 403
            assert refused.headers["content-type"] == "application/problem+json"

        approve = {"to": "approved", "comment": "funded"}
        scores = iter([(5, 2, "yes"), (3, 4, "maybe")])
        for headers in reviewers.values():
            early = http.post(
                f"/v1/requests/{request_id}/transitions", json=approve, headers=approver
            )
            assert early.status_code == 409, early.text
            assert early.json()["type"].endswith("reviews-missing")
            relevance, feasibility, recommendation = next(scores)
            review = {
                "scores": {"relevance": relevance, "feasibility": feasibility},
                "recommendation": recommendation,
                "comments": "Read with the evidence pack.",
            }
            _ok(http.post(f"/v1/requests/{request_id}/reviews", json=review, headers=headers), 201)

        approved = _ok(
            http.post(f"/v1/requests/{request_id}/transitions", json=approve, headers=approver)
        )
        assert approved["status"] == "approved"
        board = _ok(http.get(f"/v1/requests/{request_id}/reviews", headers=approver))
    assert (board["reviews_submitted"], board["reviews_missing"]) == (2, 0)
    aggregate = board["aggregate"]
    assert aggregate["recommendations"] == {"yes": 1, "maybe": 1, "no": 0}
    assert [c["mean"] for c in aggregate["criteria"]] == [4.0, 3.0]
    assert aggregate["overall"] == round(100 * (2 * 4 / 5 + 3 / 5) / 3, 2)
