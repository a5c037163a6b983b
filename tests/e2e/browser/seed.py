"""What the read endpoints' page needs, made through the API as its users would make it:
a published methodology, an assessment with values, a beneficiary, a partner and its
contribution, an open call with a request under screening, a session, and a Rwandan
school whose Giga Meter build enrolled a device that measured and pinged, then sent a
slow record over another country's network and one for a school nobody knows."""

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from test_giga_meter_agent import Agent, new_device, new_school, replay
from topology import Topology

from assessment_api.methodology.defaults import DEFAULT_METHODOLOGY
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
        ids |= _requests(http)
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
