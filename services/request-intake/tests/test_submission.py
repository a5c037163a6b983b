"""Submitting requests: deadlines and grace, eligibility, caps, idempotency, country authz."""

from datetime import datetime
from typing import Any

import httpx
import pytest

from c2r_common.testing import TokenFactory


def at(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


async def test_a_focal_point_submits_a_request_that_starts_the_workflow(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call()
    response = await client.post("/v1/requests", json=api.body(call["id"]), headers=rwanda)
    assert response.status_code == 201
    created = response.json()
    assert created["status"] == "submitted"
    assert created["late"] is False
    assert created["submitted_by"] == "rw-focal"
    assert response.headers["etag"] == f'"{created["version"]}"'
    trail = await client.get(f"/v1/requests/{created['id']}/transitions", headers=rwanda)
    assert [(e["from_status"], e["to_status"]) for e in trail.json()["items"]] == [
        (None, "submitted")
    ]


@pytest.mark.parametrize(
    ("moment", "status", "late"),
    [
        ("2026-06-30T21:59:58Z", 201, False),  # a second before 23:59:59 in Geneva (CEST)
        ("2026-06-30T21:59:59Z", 201, False),  # the deadline itself
        ("2026-06-30T22:00:00Z", 409, None),  # a second after
    ],
)
async def test_deadline_edge_in_the_calls_time_zone(
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    client: httpx.AsyncClient,
    moment: str,
    status: int,
    late: bool | None,
) -> None:
    call = await api.create_call(closes_at="2026-06-30T23:59:59", time_zone="Europe/Geneva")
    clock.now = at(moment)
    response = await client.post("/v1/requests", json=api.body(call["id"]), headers=rwanda)
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["late"] is late


async def test_late_submission_names_the_deadline_in_the_calls_zone(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call(closes_at="2026-06-30T23:59:59", time_zone="Africa/Kigali")
    clock.now = at("2026-06-30T22:00:00Z")  # 00:00:00 the next day in Kigali
    response = await client.post("/v1/requests", json=api.body(call["id"]), headers=rwanda)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["deadline"] == "2026-06-30T23:59:59+02:00"
    assert "2026-06-30T23:59:59+02:00 (Africa/Kigali)" in problem["detail"]
    assert problem["type"].endswith("/deadline-passed")
    listed = await client.get("/v1/requests", headers=rwanda)
    assert listed.json()["items"] == []


async def test_inside_the_grace_period_a_request_is_accepted_and_flagged_late(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call(closes_at="2026-06-30T23:59:59", grace_period_minutes=60)
    clock.now = at("2026-06-30T22:59:59Z")  # the grace period's last second
    accepted = await client.post("/v1/requests", json=api.body(call["id"]), headers=rwanda)
    assert accepted.status_code == 201
    assert accepted.json()["late"] is True
    clock.advance(seconds=1)
    refused = await client.post(
        "/v1/requests", json=api.body(call["id"], title="again"), headers=rwanda
    )
    assert refused.status_code == 409
    assert refused.json()["accepts_until"] == "2026-07-01T00:59:59+02:00"
    late = await client.get("/v1/requests", params={"late": "true"}, headers=rwanda)
    assert [r["id"] for r in late.json()["items"]] == [accepted.json()["id"]]
    on_time = await client.get("/v1/requests", params={"late": "false"}, headers=rwanda)
    assert on_time.json()["items"] == []


@pytest.mark.parametrize(
    ("closes_at", "before", "after", "named"),
    [
        # Spring forward: 03:00 CEST is 01:00 UTC on 29 March 2026.
        ("2026-03-29T03:00:00", "2026-03-29T00:59:59Z", "2026-03-29T01:00:01Z", "+02:00"),
        # Fall back: 02:30 happens twice on 25 October 2026; the first (CEST) one counts.
        ("2026-10-25T02:30:00", "2026-10-25T00:29:59Z", "2026-10-25T00:30:01Z", "+02:00"),
    ],
)
async def test_deadline_on_a_daylight_saving_change(
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    client: httpx.AsyncClient,
    closes_at: str,
    before: str,
    after: str,
    named: str,
) -> None:
    call = await api.create_call(opens_at="2026-03-01T00:00:00", closes_at=closes_at)
    assert call["closes_at"] == f"{closes_at}{named}"
    clock.now = at(before)
    ok = await client.post("/v1/requests", json=api.body(call["id"]), headers=rwanda)
    assert ok.status_code == 201
    clock.now = at(after)
    late = await client.post("/v1/requests", json=api.body(call["id"], title="t2"), headers=rwanda)
    assert late.status_code == 409
    assert f"{closes_at}{named} (Europe/Geneva)" in late.json()["detail"]


async def test_before_the_call_opens_submissions_are_refused(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call(opens_at="2026-07-01T09:00:00", closes_at="2026-07-31T09:00:00")
    response = await client.post("/v1/requests", json=api.body(call["id"]), headers=rwanda)
    assert response.status_code == 409
    assert response.json()["opens_at"] == "2026-07-01T09:00:00+02:00"


async def test_an_ineligible_country_is_refused_with_the_reason(
    api: Any, clock: Any, auth_headers: TokenFactory, client: httpx.AsyncClient
) -> None:
    call = await api.create_call(eligible_regions=["Africa"], eligible_countries=["HTI"])
    france = auth_headers("requests:submit", countries=["FRA"])
    response = await client.post(
        "/v1/requests", json=api.body(call["id"], country_iso3="FRA"), headers=france
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("/country-not-eligible")
    assert "Europe" in response.json()["detail"]
    haiti = auth_headers("requests:submit", countries=["HTI"])
    named = await client.post(
        "/v1/requests", json=api.body(call["id"], country_iso3="HTI"), headers=haiti
    )
    assert named.status_code == 201


async def test_the_per_country_cap_refuses_one_too_many_and_ignores_withdrawn(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call(max_requests_per_country=2)
    first = await api.submit(rwanda, call["id"], title="one")
    await api.submit(rwanda, call["id"], title="two")
    third = await client.post(
        "/v1/requests", json=api.body(call["id"], title="three"), headers=rwanda
    )
    assert third.status_code == 409
    assert third.json()["type"].endswith("/country-cap-reached")
    assert third.json()["cap"] == 2
    withdrawn = await api.move(rwanda, first["id"], "withdrawn")
    assert withdrawn.status_code == 200
    again = await client.post(
        "/v1/requests", json=api.body(call["id"], title="three"), headers=rwanda
    )
    assert again.status_code == 201


async def test_an_assistance_type_the_call_does_not_offer_is_refused(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call(assistance_types=["training"])
    response = await client.post("/v1/requests", json=api.body(call["id"]), headers=rwanda)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.assistance_type"


async def test_bad_input_names_the_field_and_stores_nothing(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call()
    cases = [
        ({"country_iso3": "ZZZ"}, "body.country_iso3"),
        ({"focal_point": {"name": "x", "email": "not-an-email"}}, "body.focal_point.email"),
        ({"priority": "urgent"}, "body.priority"),
        ({"call_id": "00000000-0000-0000-0000-000000000000"}, "body.call_id"),
    ]
    for change, field in cases:
        response = await client.post(
            "/v1/requests", json=api.body(call["id"]) | change, headers=rwanda
        )
        assert response.status_code == 422, change
        assert field in [e["field"] for e in response.json()["errors"]]
    listed = await client.get("/v1/requests", headers=rwanda)
    assert listed.json()["items"] == []


async def test_a_retried_submission_with_the_same_key_creates_one_request(
    api: Any, clock: Any, rwanda: dict[str, str], client: httpx.AsyncClient
) -> None:
    call = await api.create_call()
    headers = rwanda | {"Idempotency-Key": "rw-2026-assessment-1"}
    first = await client.post("/v1/requests", json=api.body(call["id"]), headers=headers)
    second = await client.post("/v1/requests", json=api.body(call["id"]), headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    listed = await client.get("/v1/requests", headers=rwanda)
    assert [r["id"] for r in listed.json()["items"]] == [first.json()["id"]]
    other_body = api.body(call["id"], title="something else")
    reused = await client.post("/v1/requests", json=other_body, headers=headers)
    assert reused.status_code == 422


async def test_a_focal_point_submits_and_reads_only_its_own_countries(
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    auth_headers: TokenFactory,
    client: httpx.AsyncClient,
) -> None:
    call = await api.create_call()
    kenya = auth_headers("requests:submit", "requests:read", countries=["KEN"], subject="ke")
    forbidden = await client.post(
        "/v1/requests", json=api.body(call["id"], country_iso3="KEN"), headers=rwanda
    )
    assert forbidden.status_code == 403
    kenyan = await api.submit(kenya, call["id"], country_iso3="KEN")
    rwandan = await api.submit(rwanda, call["id"])
    own = await client.get("/v1/requests", headers=rwanda)
    assert [r["id"] for r in own.json()["items"]] == [rwandan["id"]]
    other = await client.get(f"/v1/requests/{kenyan['id']}", headers=rwanda)
    assert other.status_code == 404
    trail = await client.get(f"/v1/requests/{kenyan['id']}/transitions", headers=rwanda)
    assert trail.status_code == 404
    everyone = await client.get("/v1/requests", headers=api.staff)
    assert {r["id"] for r in everyone.json()["items"]} == {rwandan["id"], kenyan["id"]}


async def test_reading_requests_needs_a_requests_scope(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    response = await client.get("/v1/requests", headers=auth_headers("schools:read"))
    assert response.status_code == 403
