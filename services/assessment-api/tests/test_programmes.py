import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from c2r_common.testing import TokenFactory

AssessmentFactory = Callable[..., Awaitable[dict[str, Any]]]
Mover = Callable[..., Awaitable[httpx.Response]]
pytestmark = pytest.mark.usefixtures("seeded")

RWANDA_SITES = [
    {"school_id": "giga-rwa-001", "name": "School A", "site_type": "school_hosting_refugees"},
    {"school_id": "giga-rwa-002", "name": "School B", "site_type": "nine_year_basic"},
    {"school_id": "giga-rwa-003", "name": "School C", "site_type": "nine_year_basic"},
    {"school_id": "giga-rwa-004", "name": "School D", "site_type": "twelve_year_basic"},
    {"school_id": "giga-rwa-005", "name": "College E", "site_type": "teacher_training_college"},
]


async def test_programme_has_five_phases_in_order_with_derived_statuses(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    assessment = await create_assessment("ZWE", "2022")
    response = await client.get("/v1/programmes/zwe", headers=auth_headers("assessments:read"))
    assert response.status_code == 200
    body = response.json()
    assert body["country"] == {
        "iso3": "ZWE",
        "name": "Zimbabwe",
        "itu_region": "Africa",
        "c2r_beneficiary": True,
    }
    phases = body["phases"]
    assert [p["phase"] for p in phases] == [
        "methodology",
        "assessment",
        "national_strategy",
        "pilot",
        "deep_dive",
    ]
    assert [p["status"] for p in phases] == [
        "completed",
        "in_progress",
        "not_started",
        "not_started",
        "not_started",
    ]
    assert phases[1]["assessments"][0]["id"] == assessment["id"]
    assert [q["code"] for q in phases[2]["sg1_questions"]] == ["Q1/1", "Q3/1"]
    assert not any(p["recorded"] for p in phases)


async def test_recorded_phase_with_requests_and_sg1_questions(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    request_id = str(uuid.uuid4())
    response = await client.put(
        "/v1/programmes/MRT/phases/national_strategy",
        json={
            "status": "in_progress",
            "started_on": "2023-06-01",
            "summary": "NETP drafting with the regulator",
            "sg1_questions": ["Q3/1"],
            "request_ids": [request_id],
        },
        headers=auth_headers("assessments:write"),
    )
    assert response.status_code == 200
    phase = response.json()["phases"][2]
    assert phase["recorded"] is True
    assert phase["status"] == "in_progress"
    assert phase["request_ids"] == [request_id]
    assert phase["sg1_questions"] == [
        {
            "code": "Q3/1",
            "title": "Telecommunications/ICTs for disaster risk reduction and management",
        }
    ]
    bad_dates = await client.put(
        "/v1/programmes/MRT/phases/pilot",
        json={"status": "completed", "started_on": "2023-06-01", "completed_on": "2022-01-01"},
        headers=auth_headers("assessments:write"),
    )
    assert bad_dates.status_code == 422
    unknown_phase = await client.put(
        "/v1/programmes/MRT/phases/launch",
        json={"status": "planned"},
        headers=auth_headers("assessments:write"),
    )
    assert unknown_phase.status_code == 422


async def test_rwanda_pilot_with_five_school_sites(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    writer = auth_headers("assessments:write")
    created = await client.post(
        "/v1/programmes/RWA/pilots",
        json={
            "name": "Giga school connectivity pilot (5 of the 63 phase-1 schools)",
            "status": "in_progress",
            "started_on": "2021-03-01",
            "partner_name": "Giga (ITU/UNICEF)",
            "sites": RWANDA_SITES[:4],
        },
        headers=writer,
    )
    assert created.status_code == 201
    pilot_id = created.json()["id"]
    added = await client.post(
        f"/v1/programmes/RWA/pilots/{pilot_id}/sites", json=RWANDA_SITES[4], headers=writer
    )
    assert added.status_code == 201
    programme = await client.get("/v1/programmes/RWA", headers=auth_headers("assessments:read"))
    pilot = programme.json()["pilots"][0]
    assert [s["school_id"] for s in pilot["sites"]] == [s["school_id"] for s in RWANDA_SITES]
    assert programme.json()["phases"][3]["status"] == "in_progress"
    elsewhere = await client.post(
        f"/v1/programmes/ZWE/pilots/{pilot_id}/sites", json=RWANDA_SITES[0], headers=writer
    )
    assert elsewhere.status_code == 404


async def test_programme_shows_contributions_naming_the_country(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    partners = await client.get(
        "/v1/partners", params={"founding": "true"}, headers=auth_headers("assessments:read")
    )
    partner_id = partners.json()["items"][0]["id"]
    await client.post(
        "/v1/contributions",
        json={
            "partner_id": partner_id,
            "amount": "120000",
            "currency": "USD",
            "contributed_on": "2022-01-10",
            "countries": ["RWA"],
            "phases": ["pilot"],
        },
        headers=auth_headers("assessments:write"),
    )
    programme = await client.get("/v1/programmes/RWA", headers=auth_headers("assessments:read"))
    assert [c["amount"] for c in programme.json()["contributions"]] == ["120000.00"]
    other = await client.get("/v1/programmes/ZWE", headers=auth_headers("assessments:read"))
    assert other.json()["contributions"] == []


async def test_programmes_are_listed_and_limited_by_country_claim(
    client: httpx.AsyncClient, auth_headers: TokenFactory, create_assessment: AssessmentFactory
) -> None:
    await create_assessment("ZWE", "2022")
    await create_assessment("MRT", "2021")
    listed = await client.get("/v1/programmes", headers=auth_headers("assessments:read"))
    assert [p["country"]["iso3"] for p in listed.json()["items"]] == ["MRT", "ZWE"]
    focal = auth_headers("assessments:read", countries=["MRT"])
    mine = await client.get("/v1/programmes", headers=focal)
    assert [p["country"]["iso3"] for p in mine.json()["items"]] == ["MRT"]
    assert (await client.get("/v1/programmes/ZWE", headers=focal)).status_code == 404
    assert (
        await client.get("/v1/programmes/XYZ", headers=auth_headers("admin"))
    ).status_code == 404


async def test_assessment_phase_lists_the_requests_assessments_were_opened_from(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    request_id = str(uuid.uuid4())
    await client.post(
        "/v1/assessments",
        json={"country_iso3": "ZWE", "period": "2026", "source_request_id": request_id},
        headers=auth_headers("assessments:write"),
    )
    programme = await client.get("/v1/programmes/ZWE", headers=auth_headers("assessments:read"))
    assert programme.json()["phases"][1]["request_ids"] == [request_id]
