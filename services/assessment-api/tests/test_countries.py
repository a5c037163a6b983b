import httpx
import pytest

from c2r_common.testing import TokenFactory


async def test_lists_countries_in_pages_without_repeats(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    headers = auth_headers("assessments:read")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/v1/countries", params=params, headers=headers)
        assert response.status_code == 200
        page = response.json()
        seen += [c["iso3"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) > 200
    assert seen == sorted(seen)


async def test_filters_by_region_and_ldc(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    response = await client.get(
        "/v1/countries",
        params={"itu_region": "Arab States", "ldc": "true", "limit": 500},
        headers=auth_headers("assessments:read"),
    )
    codes = {c["iso3"] for c in response.json()["items"]}
    assert {"MRT", "SDN", "YEM"} <= codes
    assert "DZA" not in codes  # Arab State, not an LDC
    assert "RWA" not in codes  # LDC, not an Arab State


async def test_one_country_and_unknown_code(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    headers = auth_headers("assessments:read")
    rwanda = await client.get("/v1/countries/rwa", headers=headers)
    assert rwanda.json()["iso2"] == "RW"
    assert rwanda.json()["itu_region"] == "Africa"
    missing = await client.get("/v1/countries/XYZ", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_requires_read_scope(client: httpx.AsyncClient, auth_headers: TokenFactory) -> None:
    response = await client.get("/v1/countries", headers=auth_headers("schools:read"))
    assert response.status_code == 403
    assert "assessments:read" in response.json()["detail"]


async def test_malformed_cursor_is_a_validation_problem(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    response = await client.get(
        "/v1/countries", params={"cursor": "!!"}, headers=auth_headers("assessments:read")
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.cursor"


@pytest.mark.usefixtures("seeded")
async def test_beneficiary_list_has_43_countries_with_sources(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    response = await client.get(
        "/v1/countries/beneficiaries",
        params={"limit": 100},
        headers=auth_headers("assessments:read"),
    )
    entries = {b["country_iso3"]: b for b in response.json()["items"]}
    assert len(entries) == 43
    assert entries["MRT"]["illustrative"] is False
    assert "2021" in entries["MRT"]["source"]
    assert entries["MRT"]["itu_region"] == "Arab States"
    assert entries["BDI"]["illustrative"] is True


@pytest.mark.usefixtures("seeded")
async def test_filters_by_c2r_beneficiary(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    headers = auth_headers("assessments:read")
    response = await client.get(
        "/v1/countries",
        params={"c2r_beneficiary": "true", "itu_region": "Africa", "limit": 500},
        headers=headers,
    )
    codes = {c["iso3"] for c in response.json()["items"]}
    assert {"RWA", "ZWE"} <= codes
    assert "MRT" not in codes  # a beneficiary, but in the Arab States region
    assert all(c["c2r_beneficiary"] for c in response.json()["items"])
    france = await client.get("/v1/countries/FRA", headers=headers)
    assert france.json()["c2r_beneficiary"] is False


@pytest.mark.usefixtures("seeded")
async def test_beneficiary_list_is_edited_through_the_api_with_write_scope(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    body = {"source": "C2R Steering Committee decision", "illustrative": False}
    refused = await client.put(
        "/v1/countries/KEN/beneficiary", json=body, headers=auth_headers("assessments:read")
    )
    assert refused.status_code == 403
    added = await client.put(
        "/v1/countries/ken/beneficiary", json=body, headers=auth_headers("assessments:write")
    )
    assert added.status_code == 200
    assert added.json()["country_iso3"] == "KEN"
    removed = await client.delete("/v1/countries/BDI/beneficiary", headers=auth_headers("admin"))
    assert removed.status_code == 204
    headers = auth_headers("assessments:read")
    assert (await client.get("/v1/countries/KEN", headers=headers)).json()["c2r_beneficiary"]
    assert not (await client.get("/v1/countries/BDI", headers=headers)).json()["c2r_beneficiary"]
    unknown = await client.put(
        "/v1/countries/XYZ/beneficiary", json=body, headers=auth_headers("admin")
    )
    assert unknown.status_code == 404
