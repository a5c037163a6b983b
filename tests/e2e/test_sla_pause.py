"""The SLA clock pauses while information is requested, through each gateway (nginx before
the services on PostgreSQL, the embedded one on SQLite).

The services run as processes on the real clock, which the gateway cannot move; so "time
passes" by moving the pause's start four days back in request-intake's database, and the
test checks that on resubmission the resolution due date moved by exactly the business
time (Geneva calendar) from that start to the resubmission, read from the audit trail.
Multi-day pauses on the service's injected clock are in services/request-intake/tests/
test_sla_clocks.py.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from topology import Topology

from c2r_common.testing import mint_token
from request_intake.config import IntakeSettings
from request_intake.sla_policy import SlaPolicy


def _headers(gateway: Topology, *scopes: str, countries: list[str] | None = None) -> Any:
    token = mint_token(
        gateway.secret,
        subject="e2e-sla",
        scopes=scopes,
        countries=countries,
        issuer=gateway.issuer,
        audience="c2r-platform",
    )
    return {"Authorization": f"Bearer {token}"}


def _resolution(http: httpx.Client, request_id: str, headers: Any) -> dict[str, Any]:
    response = http.get(f"/v1/requests/{request_id}/sla", headers=headers)
    assert response.status_code == 200, response.text
    [clock] = [c for c in response.json()["clocks"] if c["target"] == "resolution"]
    return clock  # type: ignore[no-any-return]


def test_the_resolution_clock_pauses_while_information_is_requested(gateway: Topology) -> None:
    staff = _headers(gateway, "calls:write", "requests:read", "requests:review")
    focal = _headers(gateway, "requests:submit", "requests:read", countries=["RWA"])
    now = datetime.now(UTC)
    with httpx.Client(base_url=gateway.gateway, timeout=30) as http:
        call = http.post(
            "/v1/calls",
            json={
                "title": "C2R assistance (SLA pause)",
                "assistance_types": ["assessment"],
                "opens_at": (now - timedelta(days=1)).isoformat(),
                "closes_at": (now + timedelta(days=30)).isoformat(),
            },
            headers=staff,
        )
        assert call.status_code == 201, call.text
        submitted = http.post(
            "/v1/requests",
            json={
                "call_id": call.json()["id"],
                "country_iso3": "RWA",
                "requesting_entity": "Ministry of ICT and Innovation",
                "entity_type": "ministry",
                "focal_point": {"name": "A. Uwase", "email": "focal@minict.gov.rw"},
                "assistance_type": "assessment",
                "title": "SLA pause through the gateway",
                "description": "A request that waits for the Member State.",
            },
            headers=focal,
        )
        assert submitted.status_code == 201, submitted.text
        request_id = submitted.json()["id"]
        for status, headers in (("screening", staff), ("info_requested", staff)):
            moved = http.post(
                f"/v1/requests/{request_id}/transitions",
                json={"to": status, "comment": f"to {status}"},
                headers=headers,
            )
            assert moved.status_code == 200, moved.text
        paused = _resolution(http, request_id, focal)
        assert paused["state"] == "paused"
        paused_since = datetime.fromisoformat(paused["paused_at"]) - timedelta(days=4)
        gateway.execute(
            "request-intake",
            "UPDATE sla_clocks SET paused_at = :since "
            "WHERE request_id = :request AND target = 'resolution'",
            **_params(gateway, paused_since, request_id),
        )
        resubmitted = http.post(
            f"/v1/requests/{request_id}/transitions",
            json={"to": "resubmitted", "comment": "the information asked for"},
            headers=focal,
        )
        assert resubmitted.status_code == 200, resubmitted.text
        resumed = _resolution(http, request_id, focal)
        trail = http.get(f"/v1/requests/{request_id}/transitions", headers=focal).json()
    resumed_at = datetime.fromisoformat(trail["items"][-1]["at"])
    policy = SlaPolicy.from_settings(IntakeSettings(database_url="sqlite+aiosqlite://"))
    paused_for = policy.business_time(paused_since, resumed_at)
    assert paused_for > timedelta(0)  # four days always hold some business time
    assert resumed["state"] == "running"
    assert resumed["paused_business_seconds"] == paused_for.total_seconds()
    due_before = datetime.fromisoformat(paused["due_at"])
    assert datetime.fromisoformat(resumed["due_at"]) == policy.shifted(due_before, paused_for)
    assert datetime.fromisoformat(resumed["due_at_local"]).utcoffset() in (
        timedelta(hours=1),
        timedelta(hours=2),
    )


def _params(gateway: Topology, since: datetime, request_id: str) -> dict[str, object]:
    """The statement's parameters as each database stores them (SQLAlchemy keeps SQLite's
    datetimes as naive UTC text and its UUIDs as 32 hex digits)."""
    if gateway.database_urls["request-intake"].startswith("sqlite"):
        naive = since.astimezone(UTC).replace(tzinfo=None)
        return {
            "since": naive.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "request": uuid.UUID(request_id).hex,
        }
    return {"since": since, "request": uuid.UUID(request_id)}
