"""What the read endpoints' page needs, made through the API as its users would make it:
a published methodology, an assessment with values, a beneficiary, a partner and its
contribution, an open call with a request under screening, a session, and a Rwandan
school whose Giga Meter build enrolled a device that measured and pinged, then sent a
slow record over another country's network and one for a school nobody knows; the call's
review form, two reviewers assigned to the request (one review submitted, one amended), a
second published methodology to preview the assessment's re-scoring under, and a
subscription of the admin's to the schools' benchmark alerts."""

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from test_giga_meter_agent import Agent, new_device, new_school, replay
from topology import Topology

from assessment_api.methodology.defaults import DEFAULT_METHODOLOGY
from c2r_common.auth import mint_token
from c2r_common.notifications.events import TYPE_PREFIX
from school_monitor.gigameter.examples import agent_measurement

AGENT_IP = "197.243.16.20"


def _created(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in (statuses or (201,)), (response.request.url, response.text)
    body: dict[str, Any] = response.json()
    return body


def seed(topology: Topology, assessment_id: str) -> dict[str, Any]:
    """The ids, codes and keys the page's calls take, for the page's seed.json."""
    admin = topology.headers("admin")
    http = httpx.Client(base_url=topology.gateway, headers=admin, timeout=30)
    try:
        ids = {"assessment": assessment_id, "indicator": "internet_users_pct"}
        ids |= _assessments(http)
        ids |= _partners(http)
        ids |= _rescoring_target(http)
        ids |= _requests(http)
        ids |= _reviews(topology, http, ids["call"], ids["request"])
        ids |= _subscription(http)
        ids |= _schools(topology, http)
    finally:
        http.close()
    return ids


def _assessments(http: httpx.Client) -> dict[str, Any]:
    latest = http.get("/v1/methodologies/latest")
    if latest.status_code != 200:
        body = DEFAULT_METHODOLOGY.model_dump_json()
        headers = {"Content-Type": "application/json"}
        _created(http.post("/v1/methodologies", content=body, headers=headers))
        latest = http.get("/v1/methodologies/latest")
    beneficiary = {"source": "ITU C2R beneficiary list, 2023", "illustrative": False}
    _created(http.put("/v1/countries/RWA/beneficiary", json=beneficiary), 200)
    return {"methodology": latest.json()["version"]}


def _rescoring_target(http: httpx.Client) -> dict[str, Any]:
    """A second published version (v1 under another name), for the assessment's re-scoring
    preview; its scores are the same, so the tests after this one score as before."""
    restated = DEFAULT_METHODOLOGY.model_copy(update={"name": "C2R methodology, restated"})
    body = restated.model_dump_json()
    published = _created(
        http.post("/v1/methodologies", content=body, headers={"Content-Type": "application/json"})
    )
    return {"rescoring_version": published["version"]}


def _partners(http: httpx.Client) -> dict[str, Any]:
    partner = _created(
        http.post(
            "/v1/partners",
            json={
                "name": f"Ministry of Internal Affairs and Communications {uuid.uuid4().hex[:6]}",
                "kind": "government",
                "country_iso3": "JPN",
                "founding": True,
            },
        )
    )
    contribution = {
        "partner_id": partner["id"],
        "amount": "1500000.00",
        "currency": "USD",
        "contributed_on": "2021-03-15",
        "focus_region": "Africa",
        "countries": ["RWA"],
    }
    _created(http.post("/v1/contributions", json=contribution))
    return {"partner": partner["id"]}


def _requests(http: httpx.Client) -> dict[str, Any]:
    now = datetime.now(UTC)
    call = _created(
        http.post(
            "/v1/calls",
            json={
                "title": "Connect2Recover technical assistance for African Member States",
                "assistance_types": ["assessment", "national_strategy", "training"],
                "opens_at": (now - timedelta(days=1)).isoformat(),
                "closes_at": (now + timedelta(days=30)).isoformat(),
                "eligible_regions": ["Africa"],
                "max_requests_per_country": 50,
            },
        )
    )
    request = _created(
        http.post(
            "/v1/requests",
            json={
                "call_id": call["id"],
                "country_iso3": "RWA",
                "requesting_entity": "Ministry of ICT and Innovation",
                "entity_type": "ministry",
                "focal_point": {"name": "A. Uwase", "email": "focal@minict.gov.rw"},
                "assistance_type": "assessment",
                "title": "Digital infrastructure and resilience assessment",
                "description": "Country assessment following the C2R methodology.",
            },
        )
    )
    screening = {"to": "screening", "comment": "Complete; screening starts."}
    _created(http.post(f"/v1/requests/{request['id']}/transitions", json=screening), 200)
    session = _created(
        http.post(
            "/v1/sessions",
            json={
                "title": "Connect2Recover information session for African Member States",
                "held_on": "2023-05-02",
                "participants": [
                    {"country_iso3": "RWA", "name": "Ministry of ICT", "is_member_state": True}
                ],
            },
        )
    )
    return {"call": call["id"], "request": request["id"], "session": session["id"]}


REVIEW_FORM = {
    "criteria": [
        {"code": "relevance", "label": "Relevance to C2R", "scale_max": 5, "weight": 2},
        {"code": "feasibility", "label": "Feasibility", "scale_max": 5, "weight": 1},
    ],
    "reviews_required": 2,
}


def _reviews(
    topology: Topology, http: httpx.Client, call_id: str, request_id: str
) -> dict[str, Any]:
    """The call's form; two reviewers assigned (by the admin, an approver), each with a
    token of its own: the first submits a review and amends it, the second submits one."""
    _created(http.put(f"/v1/calls/{call_id}/review-form", json=REVIEW_FORM), 200)
    due = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    tokens, reviews = [], []
    scores = [((5, 2), "yes"), ((3, 4), "maybe")]
    for role, ((relevance, feasibility), recommendation) in zip(
        ("screening", "technical"), scores, strict=True
    ):
        reviewer = f"e2e-browser-reviewer-{role}-{uuid.uuid4().hex[:6]}"
        assignment = {"reviewer": reviewer, "role": role, "due_at": due}
        _created(http.post(f"/v1/requests/{request_id}/reviewers", json=assignment))
        token = mint_token(
            topology.secret,
            subject=reviewer,
            scopes=("requests:read", "requests:review"),
            issuer=topology.issuer,
            audience="c2r-platform",
        )
        review = {
            "scores": {"relevance": relevance, "feasibility": feasibility},
            "recommendation": recommendation,
            "comments": "Read with the evidence pack.",
        }
        own = {"Authorization": f"Bearer {token}"}
        path = f"/v1/requests/{request_id}/reviews"
        reviews.append(_created(http.post(path, json=review, headers=own)))
        tokens.append(token)
    amendment = {
        "scores": {"relevance": 5, "feasibility": 3},
        "recommendation": "yes",
        "comments": "Feasible with the revised work plan.",
        "note": "The ministry sent a revised work plan.",
    }
    own = {"Authorization": f"Bearer {tokens[0]}"}
    _created(http.put(f"/v1/reviews/{reviews[0]['id']}", json=amendment, headers=own), 200)
    return {"reviewer_token": tokens[0], "review": reviews[0]["id"]}


def _subscription(http: httpx.Client) -> dict[str, Any]:
    """The admin's subscriptions by e-mail: to Rwanda's schools falling below the
    benchmark, to Nepal's assessments being completed, and to Rwanda's requests asked for
    more information."""
    alerts = {
        "email": "connectivity-desk@minict.gov.rw",
        "event_types": [TYPE_PREFIX + "school.below_benchmark"],
        "countries": ["RWA"],
    }
    assessments = {
        "email": "ict-statistics@mocit.gov.np",
        "event_types": [TYPE_PREFIX + "assessment.completed"],
        "countries": ["NPL"],
    }
    requests = {
        "email": "ta-desk@minict.gov.rw",
        "event_types": [TYPE_PREFIX + "request.info_requested"],
        "countries": ["RWA"],
    }
    return {
        "request_subscription": _created(http.post("/v1/requests/subscriptions", json=requests))[
            "id"
        ],
        "subscription": _created(http.post("/v1/alerts/subscriptions", json=alerts))["id"],
        "assessment_subscription": _created(
            http.post("/v1/assessments/subscriptions", json=assessments)
        )["id"],
    }


def _schools(topology: Topology, http: httpx.Client) -> dict[str, Any]:
    admin = dict(http.headers)
    school = new_school(topology, {"Authorization": admin["authorization"]})
    key = "giga-meter-build-" + secrets.token_urlsafe(24)
    body = {"name": "Giga Meter 2.0.2 build for the Rwanda pilot", "countries": ["RWA"], "key": key}
    deployment_key = _created(http.post("/v1/agents/deployment-keys", json=body))
    device = new_device()
    agent = Agent(topology.gateway, key)
    try:
        user_id = replay(agent, school, device)
        # The latest record, slow and measured over a Kenyan network: stored for the
        # school and flagged; the school falls below the benchmark (an alert).
        kenyan = agent_measurement(
            school["giga_id"], school_id=school["government_id"], country_code="KE"
        ) | {"BrowserID": user_id, "Download": 4200.0}
        agent.post("measurements", kenyan, 201)
        # A record for a school nobody knows: refused, and kept as failed.
        unknown = agent_measurement(str(uuid.uuid4())) | {"BrowserID": user_id}
        agent.post("measurements", unknown, 400)
    finally:
        agent.close()
    agents = http.get("/v1/agents", params={"school_id": school["id"]}).json()["items"]
    return {
        "school": school["id"],
        "giga_id": school["giga_id"],
        "government_id": school["government_id"],
        "agent": agents[0]["id"],
        "deployment_key": deployment_key["id"],
        "build_key": key,
        "installation_id": device.installation_id,
        "hardware_id": device.hardware_id,
        "ip": AGENT_IP,
    }
