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

pytestmark = pytest.mark.usefixtures("seeded")


async def _partners(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get("/v1/partners", params={"limit": 500}, headers=headers)
    return {p["name"]: p for p in response.json()["items"]}


@pytest.mark.parametrize("version", ["9223372036854775808", "2147483648", "-2147483649"])
async def test_a_methodology_version_past_the_column_type_is_a_422(
    client: httpx.AsyncClient, auth_headers: TokenFactory, version: str
) -> None:
    response = await client.get(
        f"/v1/methodologies/{version}", headers=auth_headers("assessments:read")
    )
    assert_field_refused(response, "path.version")


async def test_the_largest_version_the_column_holds_is_looked_up(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    response = await client.get(
        "/v1/methodologies/2147483647", headers=auth_headers("assessments:read")
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "cursor"),
    [
        ("/v1/methodologies", forged_cursor([2**64])),
        ("/v1/methodologies", forged_cursor([2**31])),
        ("/v1/methodologies", forged_cursor("garbage")),
        ("/v1/methodologies", forged_cursor({"not": "a list"})),
        ("/v1/methodologies", "!!not-base64!!"),
        ("/v1/partners", forged_cursor(["a\x00", "00000000-0000-0000-0000-000000000000"])),
        ("/v1/assessments", forged_cursor([{"$dt": "9999-12-31T23:59:59-23:59"}, 1])),
        ("/v1/countries", forged_cursor([5])),
        ("/v1/programmes", forged_cursor([[1]])),
    ],
)
async def test_a_forged_cursor_is_a_422_naming_the_cursor(
    client: httpx.AsyncClient, auth_headers: TokenFactory, path: str, cursor: str
) -> None:
    response = await client.get(
        path, params={"cursor": cursor}, headers=auth_headers("assessments:read")
    )
    assert_field_refused(response, "query.cursor")


async def test_a_null_steering_committee_is_a_422_and_the_partner_unchanged(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    reader, writer = auth_headers("assessments:read"), auth_headers("assessments:write")
    australia = (await _partners(client, reader))["Australia"]
    for body, field in (
        ({"steering_committee": None}, "body.steering_committee"),
        ({"steering_committee": 1}, "body.steering_committee"),
        ({"founding": None}, "body.founding"),  # not changeable here: refused, not ignored
        ({"joined_on": 0}, "body.joined_on"),
        ({"source": "x\x00"}, "body.source"),
    ):
        response = await client.patch(f"/v1/partners/{australia['id']}", json=body, headers=writer)
        assert_field_refused(response, field)
    assert (await _partners(client, reader))["Australia"] == australia


async def test_null_clears_an_optional_partner_field(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    australia = (await _partners(client, auth_headers("assessments:read")))["Australia"]
    response = await client.patch(
        f"/v1/partners/{australia['id']}",
        json={"source": None, "joined_on": None},
        headers=auth_headers("assessments:write"),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["source"], response.json()["joined_on"]) == (None, None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Partner\x00"}, "body.name"),
        ({"founding": 0}, "body.founding"),
        ({"steering_committee": "yes"}, "body.steering_committee"),
        ({"joined_on": 0}, "body.joined_on"),
        ({"joined_on": "9999-12-31"}, "body.joined_on"),
    ],
)
async def test_a_partner_with_a_refused_field_is_not_registered(
    client: httpx.AsyncClient, auth_headers: TokenFactory, body: dict[str, Any], field: str
) -> None:
    data = {"name": "Input Test Partner", "kind": "organisation"} | body
    response = await client.post("/v1/partners", json=data, headers=auth_headers("admin"))
    assert_field_refused(response, field)
    partners = await _partners(client, auth_headers("assessments:read"))
    assert not [name for name in partners if name.startswith(("Input Test", "Partner"))]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"illustrative": 0}, "body.illustrative"),
        ({"contributed_on": 0}, "body.contributed_on"),
        ({"description": "\x00"}, "body.description"),
        ({"amount": 5e-324}, "body.amount"),
        ({"amount": "12.345"}, "body.amount"),
        ({"amount": "100000000000000"}, "body.amount"),  # past the 16 digits amount_minor holds
    ],
)
async def test_a_contribution_with_a_refused_field_is_not_recorded(
    client: httpx.AsyncClient, auth_headers: TokenFactory, body: dict[str, Any], field: str
) -> None:
    partner = (await _partners(client, auth_headers("assessments:read")))["Australia"]
    data = {
        "partner_id": partner["id"],
        "amount": "10.00",
        "currency": "USD",
        "contributed_on": "2023-03-01",
    }
    response = await client.post(
        "/v1/contributions", json=data | body, headers=auth_headers("assessments:write")
    )
    assert_field_refused(response, field)
    listed = await client.get("/v1/contributions", headers=auth_headers("assessments:read"))
    assert listed.json()["items"] == []


async def test_a_beneficiary_entry_with_illustrative_0_is_not_put(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    response = await client.put(
        "/v1/countries/BRA/beneficiary",
        json={"source": "test", "illustrative": 0},
        headers=auth_headers("assessments:write"),
    )
    assert_field_refused(response, "body.illustrative")
    country = await client.get("/v1/countries/BRA", headers=auth_headers("assessments:read"))
    assert country.json()["c2r_beneficiary"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"period": "2035-13"}, "body.period"),
        ({"period": "2035-00"}, "body.period"),
        ({"period": "0000"}, "body.period"),
        ({"period": "2035", "title": "T\x00"}, "body.title"),
        ({"period": "2035", "methodology_version": 2**31}, "body.methodology_version"),
        ({"period": "2035", "methodology_version": True}, "body.methodology_version"),
    ],
)
async def test_an_assessment_with_a_refused_field_is_not_opened(
    client: httpx.AsyncClient, auth_headers: TokenFactory, body: dict[str, Any], field: str
) -> None:
    response = await client.post(
        "/v1/assessments",
        json={"country_iso3": "RWA"} | body,
        headers=auth_headers("assessments:write"),
    )
    assert_field_refused(response, field)
    listed = await client.get("/v1/assessments", headers=auth_headers("assessments:read"))
    assert listed.json()["items"] == []


@pytest.mark.parametrize("period", ["2035-12", "2035-Q1", "2035-H2", "2035"])
async def test_the_periods_promised_are_accepted(
    client: httpx.AsyncClient, auth_headers: TokenFactory, period: str
) -> None:
    response = await client.post(
        "/v1/assessments",
        json={"country_iso3": "RWA", "period": period},
        headers=auth_headers("assessments:write"),
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "2035-13"}, "query.period"),
        ({"country_iso3": "R\x00A"}, "query.country_iso3"),
    ],
)
async def test_an_assessment_filter_with_a_refused_value_is_a_422(
    client: httpx.AsyncClient, auth_headers: TokenFactory, params: dict[str, str], field: str
) -> None:
    response = await client.get(
        "/v1/assessments", params=params, headers=auth_headers("assessments:read")
    )
    assert_field_refused(response, field)


async def test_indicator_values_of_the_wrong_type_are_not_entered(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    writer = auth_headers("assessments:write")
    created = await client.post(
        "/v1/assessments", json={"country_iso3": "RWA", "period": "2026"}, headers=writer
    )
    assessment_id = created.json()["id"]
    good = {"code": "internet_users_pct", "value": 30.0, "year": 2025, "source": "test"}
    for bad, field in (
        ({"value": False}, "body.values.0.value"),
        ({"value": "30"}, "body.values.0.value"),
        ({"year": 2**31}, "body.values.0.year"),
        ({"source": "\x00"}, "body.values.0.source"),
    ):
        response = await client.post(
            f"/v1/assessments/{assessment_id}/indicators",
            json={"values": [good | bad]},
            headers=writer,
        )
        assert_field_refused(response, field)
    one = f"/v1/assessments/{assessment_id}/indicators/internet_users_pct"
    single = {"value": False, "year": 1990, "source": "x"}
    assert_field_refused(await client.put(one, json=single, headers=writer), "body.value")
    indicators = await client.get(
        f"/v1/assessments/{assessment_id}/indicators", headers=auth_headers("assessments:read")
    )
    assert all(i["value"] is None for i in indicators.json())
    # An integral float is an integer to JSON Schema: the year 2025.0 is the year 2025.
    entered = await client.put(one, json=single | {"value": 1, "year": 2025.0}, headers=writer)
    assert entered.status_code == 200, entered.text
    assert (entered.json()["value"], entered.json()["year"]) == (1.0, 2025)


@pytest.mark.parametrize(
    ("path", "method", "body", "field"),
    [
        (
            "/v1/programmes/RWA/phases/methodology",
            "put",
            {"status": "planned", "started_on": 0},
            "body.started_on",
        ),
        ("/v1/programmes/RWA/pilots", "post", {"name": "P", "started_on": 0}, "body.started_on"),
        (
            "/v1/programmes/RWA/pilots",
            "post",
            {"name": "P", "sites": [{"name": "S", "site_type": "school", "connected_on": 0}]},
            "body.sites.0.connected_on",
        ),
        ("/v1/programmes/RWA/pilots", "post", {"name": "P\x00"}, "body.name"),
    ],
)
async def test_programme_dates_as_numbers_are_refused(
    client: httpx.AsyncClient,
    auth_headers: TokenFactory,
    path: str,
    method: str,
    body: dict[str, Any],
    field: str,
) -> None:
    response = await client.request(
        method.upper(), path, json=body, headers=auth_headers("assessments:write")
    )
    assert_field_refused(response, field)
    programme = await client.get("/v1/programmes/RWA", headers=auth_headers("assessments:read"))
    assert programme.json()["pilots"] == []
    assert programme.json()["phases"][0]["recorded"] is False


async def test_the_openapi_document_states_every_bound_in_json_schema_terms(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    assert pydantic_bound_keys(document) == []
