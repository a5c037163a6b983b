"""Calls: time zones, states derived from the clock, the list of open calls."""

from datetime import datetime
from typing import Any

import httpx

from c2r_common.testing import TokenFactory


async def test_wall_clock_times_are_read_in_the_calls_time_zone(api: Any, clock: Any) -> None:
    call = await api.create_call(closes_at="2026-06-30T23:59:59", time_zone="Europe/Geneva")
    assert call["closes_at"] == "2026-06-30T23:59:59+02:00"
    assert call["accepts_until"] == call["closes_at"]
    assert call["state"] == "open"


async def test_times_with_an_offset_are_kept_and_shown_in_the_calls_zone(
    api: Any, clock: Any
) -> None:
    call = await api.create_call(
        time_zone="Africa/Kigali",
        opens_at="2026-06-01T00:00:00Z",
        closes_at="2026-06-30T21:59:59Z",
        grace_period_minutes=120,
    )
    assert call["closes_at"] == "2026-06-30T23:59:59+02:00"
    assert call["accepts_until"] == "2026-07-01T01:59:59+02:00"


async def test_state_follows_the_clock(api: Any, clock: Any, client: httpx.AsyncClient) -> None:
    call = await api.create_call(opens_at="2026-06-15T09:00:00", closes_at="2026-06-20T17:00:00")
    states = []
    for moment in ("2026-06-15T06:59:59Z", "2026-06-15T07:00:00Z", "2026-06-20T15:00:01Z"):
        clock.now = datetime.fromisoformat(moment)
        response = await client.get(f"/v1/calls/{call['id']}", headers=api.staff)
        states.append(response.json()["state"])
    assert states == ["upcoming", "open", "closed"]


async def test_open_calls_lists_only_open_ones_soonest_deadline_first(
    api: Any, clock: Any, client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    later = await api.create_call(title="later", closes_at="2026-07-30T12:00:00")
    sooner = await api.create_call(title="sooner", closes_at="2026-06-12T12:00:00")
    await api.create_call(
        title="closed", opens_at="2026-05-01T00:00:00", closes_at="2026-05-02T00:00:00"
    )
    await api.create_call(
        title="upcoming", opens_at="2026-08-01T00:00:00", closes_at="2026-09-01T00:00:00"
    )
    focal_point = auth_headers("requests:submit", countries=["RWA"])
    response = await client.get("/v1/calls/open", headers=focal_point)
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["items"]] == [sooner["id"], later["id"]]
    closed = await client.get("/v1/calls", params={"state": "closed"}, headers=focal_point)
    assert [c["title"] for c in closed.json()["items"]] == ["closed"]


async def test_bad_calls_are_refused_naming_the_field(
    client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"assistance_types": ["catering"]}, "assistance_types"),
        ({"eligible_countries": ["XXX"]}, "eligible_countries"),
        ({"max_requests_per_country": 0}, "max_requests_per_country"),
    ]
    base = {
        "title": "t",
        "assistance_types": ["assessment"],
        "opens_at": "2026-06-01T09:00:00",
        "closes_at": "2026-06-30T09:00:00",
    }
    for change, field in cases:
        response = await client.post("/v1/calls", json=base | change, headers=staff)
        assert response.status_code == 422, change
        assert any(field in e["field"] for e in response.json()["errors"]), response.json()
    backwards = base | {"closes_at": "2026-05-01T09:00:00"}
    response = await client.post("/v1/calls", json=backwards, headers=staff)
    assert response.status_code == 422
    assert "closes_at" in response.text
    listed = await client.get("/v1/calls", headers=staff)
    assert listed.json()["items"] == []


async def test_a_wall_clock_time_skipped_by_daylight_saving_is_refused(
    client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    body = {
        "title": "t",
        "assistance_types": ["assessment"],
        "time_zone": "Europe/Geneva",
        "opens_at": "2026-03-01T09:00:00",
        "closes_at": "2026-03-29T02:30:00",  # clocks jump from 02:00 to 03:00 that night
    }
    response = await client.post("/v1/calls", json=body, headers=staff)
    assert response.status_code == 422
    assert "does not exist in Europe/Geneva" in response.text


async def test_creating_a_call_needs_calls_write(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    body = {
        "title": "t",
        "assistance_types": ["assessment"],
        "opens_at": "2026-06-01T09:00:00",
        "closes_at": "2026-06-30T09:00:00",
    }
    response = await client.post("/v1/calls", json=body, headers=auth_headers("requests:review"))
    assert response.status_code == 403


async def test_extending_a_deadline_reopens_submissions(
    api: Any, clock: Any, client: httpx.AsyncClient, rwanda: dict[str, str]
) -> None:
    call = await api.create_call(closes_at="2026-06-09T23:59:59")
    assert call["state"] == "closed"
    refused = await client.post("/v1/requests", json=api.body(call["id"]), headers=rwanda)
    assert refused.status_code == 409
    response = await client.patch(
        f"/v1/calls/{call['id']}",
        json={"closes_at": "2026-06-19T23:59:59", "max_requests_per_country": None},
        headers=api.staff,
    )
    assert response.status_code == 200
    assert response.json()["closes_at"] == "2026-06-19T23:59:59+02:00"
    assert response.json()["state"] == "open"
    accepted = await client.post("/v1/requests", json=api.body(call["id"]), headers=rwanda)
    assert accepted.status_code == 201


async def test_a_deadline_before_the_opening_or_a_null_title_is_refused(
    api: Any, clock: Any, client: httpx.AsyncClient
) -> None:
    call = await api.create_call()
    for change, field in (
        ({"closes_at": "2026-05-01T00:00:00"}, "body.closes_at"),
        ({"title": None}, "body.title"),
    ):
        response = await client.patch(f"/v1/calls/{call['id']}", json=change, headers=api.staff)
        assert response.status_code == 422, change
        assert response.json()["errors"][0]["field"] == field
    unchanged = await client.get(f"/v1/calls/{call['id']}", headers=api.staff)
    assert unchanged.json() == call


async def test_reading_calls_needs_a_requests_or_calls_scope(
    api: Any, client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    call = await api.create_call()
    unrelated = auth_headers("schools:read")
    assert (await client.get("/v1/calls", headers=unrelated)).status_code == 403
    assert (await client.get(f"/v1/calls/{call['id']}", headers=unrelated)).status_code == 403
    focal_point = auth_headers("requests:submit", countries=["RWA"])
    assert (await client.get(f"/v1/calls/{call['id']}", headers=focal_point)).status_code == 200
