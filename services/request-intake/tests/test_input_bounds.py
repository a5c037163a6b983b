"""Inputs the databases cannot hold or that lax coercion would misread: each is a 4xx
problem+json naming the field, and nothing is stored (read back through the API)."""

from typing import Any

import httpx
import pytest

from c2r_common.testing import (
    TokenFactory,
    assert_field_refused,
    forged_cursor,
    pydantic_bound_keys,
)

SESSION = {"title": "C2R information session", "held_on": "2023-05-02"}
CALL = {
    "title": "C2R technical assistance",
    "assistance_types": ["assessment"],
    "opens_at": "2026-06-01T09:00:00",
    "closes_at": "2026-06-30T23:59:59",
}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"held_on": 0}, "body.held_on"),
        ({"held_on": 1683000000}, "body.held_on"),
        ({"held_on": "9999-12-31"}, "body.held_on"),
        ({"title": "Session\x00"}, "body.title"),
        (
            {"participants": [{"name": "M", "is_member_state": 0}]},
            "body.participants.0.is_member_state",
        ),
        ({"participants": [{"name": "M\x00"}]}, "body.participants.0.name"),
    ],
)
async def test_a_session_with_a_refused_field_is_not_recorded(
    client: httpx.AsyncClient,
    staff: dict[str, str],
    auth_headers: TokenFactory,
    body: dict[str, Any],
    field: str,
) -> None:
    response = await client.post("/v1/sessions", json=SESSION | body, headers=staff)
    assert_field_refused(response, field)
    listed = await client.get("/v1/sessions", headers=auth_headers("requests:read"))
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"opens_at": 0}, "body.opens_at"),
        ({"opens_at": 0.5}, "body.opens_at"),
        ({"opens_at": "1700000000"}, "body.opens_at"),
        ({"closes_at": "9999-12-31T23:59:59-23:59"}, "body.closes_at"),
        ({"grace_period_minutes": False}, "body.grace_period_minutes"),
        ({"max_requests_per_country": "2"}, "body.max_requests_per_country"),
        ({"title": "Call\x00"}, "body.title"),
        ({"time_zone": "Europe/Geneva\x00"}, "body.time_zone"),
    ],
)
async def test_a_call_with_a_refused_field_is_not_created(
    client: httpx.AsyncClient, api: Any, change: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/calls", json=CALL | change, headers=api.staff)
    assert_field_refused(response, field)
    assert (await client.get("/v1/calls", headers=api.staff)).json()["items"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"description": None}, "body.description"),
        ({"closes_at": None}, "body.closes_at"),
        ({"grace_period_minutes": None}, "body.grace_period_minutes"),
        ({"grace_period_minutes": False}, "body.grace_period_minutes"),
        ({"closes_at": 0}, "body.closes_at"),
        ({"opens_at": "2026-05-01T00:00:00"}, "body.opens_at"),  # not changeable here
    ],
)
async def test_a_call_change_with_a_refused_field_leaves_the_call_unchanged(
    client: httpx.AsyncClient, api: Any, clock: Any, change: dict[str, Any], field: str
) -> None:
    call = await api.create_call()
    response = await client.patch(f"/v1/calls/{call['id']}", json=change, headers=api.staff)
    assert_field_refused(response, field)
    assert (await client.get(f"/v1/calls/{call['id']}", headers=api.staff)).json() == call


async def test_an_integral_float_is_taken_as_the_integer_json_schema_says_it_is(
    client: httpx.AsyncClient, api: Any, clock: Any
) -> None:
    call = await api.create_call()
    response = await client.patch(
        f"/v1/calls/{call['id']}",
        json={"max_requests_per_country": 12.0, "grace_period_minutes": 30.0},
        headers=api.staff,
    )
    assert response.status_code == 200, response.text
    assert (
        response.json()["max_requests_per_country"],
        response.json()["grace_period_minutes"],
    ) == (12, 30)
    refused = await client.patch(
        f"/v1/calls/{call['id']}", json={"max_requests_per_country": 12.5}, headers=api.staff
    )
    assert_field_refused(refused, "body.max_requests_per_country")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": "T\x00"}, "body.title"),
        ({"description": "\x00"}, "body.description"),
        ({"focal_point": {"name": "A", "email": "a\x00b@x.org"}}, "body.focal_point.email"),
        (
            {"attachments": [{"filename": "a.pdf", "size_bytes": True}]},
            "body.attachments.0.size_bytes",
        ),
        ({"expected_outcomes": [""]}, "body.expected_outcomes.0"),
        ({"expected_outcomes": ["x\x00"]}, "body.expected_outcomes.0"),
    ],
)
async def test_a_request_with_a_refused_field_is_not_submitted(
    client: httpx.AsyncClient,
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    change: dict[str, Any],
    field: str,
) -> None:
    call = await api.create_call()
    response = await client.post(
        "/v1/requests", json=api.body(call["id"], **change), headers=rwanda
    )
    assert_field_refused(response, field)
    assert (await client.get("/v1/requests", headers=api.staff)).json()["items"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"focal_point": None}, "body.focal_point"),
        ({"title": None}, "body.title"),
        ({"expected_outcomes": None}, "body.expected_outcomes"),
        ({"country_iso3": "ZWE"}, "body.country_iso3"),  # not changeable: refused, not ignored
        ({"title": "T\x00"}, "body.title"),
    ],
)
async def test_a_request_change_with_a_refused_field_leaves_the_request_unchanged(
    client: httpx.AsyncClient,
    api: Any,
    clock: Any,
    rwanda: dict[str, str],
    change: dict[str, Any],
    field: str,
) -> None:
    call = await api.create_call()
    request = await api.submit(rwanda, call["id"])
    response = await client.patch(
        f"/v1/requests/{request['id']}", json={"comment": "edit"} | change, headers=rwanda
    )
    assert_field_refused(response, field)
    assert (await client.get(f"/v1/requests/{request['id']}", headers=rwanda)).json() == request


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/requests", {"country_iso3": "R\x00A"}, "query.country_iso3"),
        ("/v1/requests/overdue", {"stage": "submitted\x00"}, "query.stage"),
        (
            "/v1/requests",
            {"cursor": forged_cursor([{"$dt": "2026-01-01T00:00:00"}, 1])},
            "query.cursor",
        ),
        (
            "/v1/calls",
            {"cursor": forged_cursor([{"$dt": "9999-12-31T23:59:59-23:59"}, 1])},
            "query.cursor",
        ),
        ("/v1/sessions", {"cursor": forged_cursor([2**64])}, "query.cursor"),
        ("/v1/calls", {"cursor": "garbage"}, "query.cursor"),
    ],
)
async def test_a_query_value_the_database_cannot_compare_is_a_422(
    client: httpx.AsyncClient, api: Any, path: str, params: dict[str, str], field: str
) -> None:
    response = await client.get(path, params=params, headers=api.staff)
    assert_field_refused(response, field)


async def test_a_forged_event_cursor_past_int4_is_a_422(
    client: httpx.AsyncClient, api: Any, clock: Any, rwanda: dict[str, str]
) -> None:
    call = await api.create_call()
    request = await api.submit(rwanda, call["id"])
    for values in ([2**31], [2**64], ["1"]):
        response = await client.get(
            f"/v1/requests/{request['id']}/transitions",
            params={"cursor": forged_cursor(values)},
            headers=api.staff,
        )
        assert_field_refused(response, "query.cursor")


async def test_the_openapi_document_states_every_bound_in_json_schema_terms(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    assert pydantic_bound_keys(document) == []
