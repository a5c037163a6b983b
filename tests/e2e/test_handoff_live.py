"""The hand-off through each gateway (nginx before the services on PostgreSQL, then the
embedded default on SQLite), with the services' own background dispatchers: an approved
assessment request is handed to assessment-api over REST by request-intake's notification
dispatcher, and the assessment it made (or found) is linked on the request."""

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from topology import Topology

from assessment_api.methodology.defaults import DEFAULT_METHODOLOGY
from c2r_common.auth import mint_token

COUNTRY = "MRT"
DEADLINE_SECONDS = 60.0


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


def _approved_assessment_request(http: httpx.Client, gateway: Topology) -> str:
    staff = _headers(
        gateway, "e2e-staff", "calls:write", "requests:review", "requests:approve", "requests:read"
    )
    focal = _headers(gateway, "e2e-mrt", "requests:submit", "requests:read", countries=[COUNTRY])
    now = datetime.now(UTC)
    call = _ok(
        http.post(
            "/v1/calls",
            json={
                "title": f"C2R assessments {uuid.uuid4().hex[:6]}",
                "assistance_types": ["assessment"],
                "time_zone": "UTC",
                "opens_at": (now - timedelta(days=1)).isoformat(),
                "closes_at": (now + timedelta(days=30)).isoformat(),
            },
            headers=staff,
        ),
        201,
    )
    request = _ok(
        http.post(
            "/v1/requests",
            json={
                "call_id": call["id"],
                "country_iso3": COUNTRY,
                "requesting_entity": "Autorité de Régulation",
                "entity_type": "regulator",
                "focal_point": {"name": "M. Ould", "email": "focal@are.mr"},
                "assistance_type": "assessment",
                "title": "Digital infrastructure and resilience assessment",
                "description": "A country assessment following the C2R methodology.",
            },
            headers=focal,
        ),
        201,
    )
    for status in ("screening", "under_review", "approved"):
        move = {"to": status, "comment": f"to {status}"}
        _ok(http.post(f"/v1/requests/{request['id']}/transitions", json=move, headers=staff))
    return str(request["id"])


def _methodology_published(http: httpx.Client, admin: Any) -> None:
    """assessment-api creates assessments under the latest published methodology: until
    one is, it answers 409 and the hand-off waits (retried, as the contract says)."""
    if http.get("/v1/methodologies/latest", headers=admin).status_code != 200:
        methodology = DEFAULT_METHODOLOGY.model_dump_json()
        json_type = {"Content-Type": "application/json"}
        _ok(http.post("/v1/methodologies", content=methodology, headers=admin | json_type), 201)


def _linked(http: httpx.Client, request_id: str, headers: Any) -> str | None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        linked = _ok(http.get(f"/v1/requests/{request_id}", headers=headers))["assessment_id"]
        if linked is not None:
            return str(linked)
        time.sleep(0.5)
    return None


def test_an_approved_assessment_request_is_handed_to_assessment_api_and_linked(
    gateway: Topology,
) -> None:
    reader = _headers(gateway, "e2e-reader", "requests:read", "requests:review")
    admin = _headers(gateway, "e2e-admin", "admin")
    with httpx.Client(base_url=gateway.gateway, timeout=30) as http:
        _methodology_published(http, admin)
        request_id = _approved_assessment_request(http, gateway)
        linked = _linked(http, request_id, reader)
        entries = _ok(http.get("/v1/requests/outbox", params={"limit": 500}, headers=reader))
        [entry] = [e for e in entries["items"] if e["request_id"] == request_id]
        assert linked is not None, f"the hand-off was not delivered by the dispatcher: {entry}"
        assessment = _ok(http.get(f"/v1/assessments/{linked}", headers=admin))
    assert (assessment["country_iso3"], assessment["period"]) == (
        COUNTRY,
        str(datetime.now(UTC).year),
    )
    assert (entry["status"], entry["result_id"]) == ("delivered", linked)
    assert entry["idempotency_key"] == f"c2r-outbox-{entry['id']}"
