"""Inputs the databases cannot hold or that lax coercion would misread: each is a 4xx
problem+json naming the field, and nothing is stored (read back through the API)."""

import uuid
from typing import Any

import httpx
import pytest

from c2r_common.testing import assert_field_refused, forged_cursor, pydantic_bound_keys


async def _schools_named(
    client: httpx.AsyncClient, admin: dict[str, str], giga_id: str
) -> list[dict[str, Any]]:
    listed = await client.get("/v1/schools", params={"limit": 500}, headers=admin)
    return [s for s in listed.json()["items"] if s["giga_id"] == giga_id]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"num_students": 2147483648}, "body.num_students"),  # PostgreSQL's int4
        ({"num_students": 18446744073709551616}, "body.num_students"),
        ({"num_computers": True}, "body.num_computers"),
        ({"num_students": "12"}, "body.num_students"),
        ({"download_speed_contracted": False}, "body.download_speed_contracted"),
        ({"latitude": "1.5"}, "body.latitude"),
        ({"electricity_availability": 0}, "body.electricity_availability"),
        ({"name": None}, "body.name"),
        ({"tags": None}, "body.tags"),
        ({"admin1": "Southern\x00"}, "body.admin1"),
        ({"tags": ["refugee\x00"]}, "body.tags.0"),
        ({"country_iso3": "KEN"}, "body.country_iso3"),
    ],
)
async def test_a_school_change_with_a_refused_field_leaves_the_school_unchanged(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    make_school: Any,
    change: dict[str, Any],
    field: str,
) -> None:
    school = await make_school(num_students=10, tags=["pilot"])
    url = f"/v1/schools/{school['id']}"
    assert_field_refused(await client.patch(url, json=change, headers=admin), field)
    assert (await client.get(url, headers=admin)).json() == school


async def test_the_largest_counts_an_integer_column_holds_are_stored(
    client: httpx.AsyncClient, admin: dict[str, str], make_school: Any
) -> None:
    school = await make_school()
    response = await client.patch(
        f"/v1/schools/{school['id']}",
        json={"num_students": 2147483647, "tags": [" Refugee-Hosting "], "admin1": None},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    again = (await client.get(f"/v1/schools/{school['id']}", headers=admin)).json()
    assert (again["num_students"], again["tags"], again["admin1"]) == (
        2147483647,
        ["refugee-hosting"],
        None,
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"num_students": 2147483648}, "body.num_students"),
        ({"name": "GS\x00"}, "body.name"),
        ({"giga_id": "g\x00"}, "body.giga_id"),
        ({"electricity_availability": 1}, "body.electricity_availability"),
    ],
)
async def test_a_school_with_a_refused_field_is_not_registered(
    client: httpx.AsyncClient, admin: dict[str, str], fields: dict[str, Any], field: str
) -> None:
    giga_id = f"giga-{uuid.uuid4().hex[:12]}"
    body = {"giga_id": giga_id, "name": "GS Test", "country_iso3": "RWA"} | fields
    assert_field_refused(await client.post("/v1/schools", json=body, headers=admin), field)
    assert await _schools_named(client, admin, giga_id) == []
    assert await _schools_named(client, admin, body["giga_id"]) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"until": "9999-12-31T23:59:59-23:59"}, "query.until"),
        ({"until": "0.5"}, "query.until"),
        ({"since": "0"}, "query.since"),
        ({"since": "2026-01-01T00:00:00"}, "query.since"),  # no offset
        (
            {"cursor": forged_cursor([{"$dt": "9999-12-31T23:59:59-23:59"}, str(uuid.uuid4())])},
            "query.cursor",
        ),
        (
            {"cursor": forged_cursor([{"$dt": "2026-01-01T00:00:00+00:00"}, "not-a-uuid"])},
            "query.cursor",
        ),
    ],
)
async def test_a_measurement_listing_with_a_refused_bound_is_a_422(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    make_school: Any,
    params: dict[str, str],
    field: str,
) -> None:
    school = await make_school()
    response = await client.get(
        f"/v1/schools/{school['id']}/measurements", params=params, headers=admin
    )
    assert_field_refused(response, field)


@pytest.mark.parametrize(
    ("params", "field"),
    [({"until": "0"}, "query.until"), ({"since": "20260101"}, "query.since")],
)
async def test_a_daily_series_with_a_day_as_a_number_is_a_422(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    make_school: Any,
    params: dict[str, str],
    field: str,
) -> None:
    school = await make_school()
    for path in (f"/v1/schools/{school['id']}/daily", "/v1/connectivity/countries/RWA/daily"):
        assert_field_refused(await client.get(path, params=params, headers=admin), field)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/schools", {"admin1": "\x00"}, "query.admin1"),
        ("/v1/schools", {"tag": "pilot\x00"}, "query.tag"),
        ("/v1/schools", {"education_level": "\x00"}, "query.education_level"),
        ("/v1/schools", {"cursor": forged_cursor(["not-a-uuid"])}, "query.cursor"),
        ("/v1/schools", {"cursor": forged_cursor([{"$uuid": 5}])}, "query.cursor"),
        ("/v1/schools/geojson", {"cursor": forged_cursor([2**64])}, "query.cursor"),
        (
            "/v1/alerts",
            {"cursor": forged_cursor([{"$dt": "2026-01-01T00:00:00"}, 1])},
            "query.cursor",
        ),
        ("/v1/agents", {"cursor": "garbage"}, "query.cursor"),
        ("/v1/measurements/failed", {"reason": "x\x00"}, "query.reason"),
    ],
)
async def test_a_list_query_the_database_cannot_compare_is_a_422(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    path: str,
    params: dict[str, str],
    field: str,
) -> None:
    assert_field_refused(await client.get(path, params=params, headers=admin), field)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"measured_at": 0}, "body.measured_at"),
        ({"measured_at": "1700000000"}, "body.measured_at"),
        ({"download_mbps": False}, "body.download_mbps"),
        ({"latency_ms": "40"}, "body.latency_ms"),
        ({"server": "ndt\x00"}, "body.server"),
        ({"raw_result": {"NDTResult.S2C": {"note": "a\x00b"}}}, "body.raw_result"),
    ],
)
async def test_a_measurement_with_a_refused_field_is_not_stored(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    make_school: Any,
    measurement: Any,
    fields: dict[str, Any],
    field: str,
) -> None:
    school = await make_school()
    response = await client.post(
        "/v1/measurements", json=measurement(school["id"], **fields), headers=admin
    )
    assert_field_refused(response, field)
    stored = await client.get(f"/v1/schools/{school['id']}/measurements", headers=admin)
    assert stored.json()["items"] == []


async def test_a_ping_with_is_connected_0_is_not_stored(
    client: httpx.AsyncClient, admin: dict[str, str], make_school: Any, ping: Any
) -> None:
    school = await make_school()
    batch = [ping(school["id"], is_connected=0), ping(school["id"], error="x\x00")]
    response = await client.post("/v1/pings/batch", json={"items": batch}, headers=admin)
    assert_field_refused(response, "body.items.0.is_connected")
    assert [e["field"] for e in response.json()["errors"]] == [
        "body.items.0.is_connected",
        "body.items.1.error",
    ]
    daily = await client.get(f"/v1/schools/{school['id']}/daily", headers=admin)
    assert all(day["ping_count"] == 0 for day in daily.json())


async def test_an_agent_with_a_nul_in_its_hardware_id_is_not_registered(
    client: httpx.AsyncClient, admin: dict[str, str], make_school: Any
) -> None:
    school = await make_school()
    body = {"school_id": school["id"], "hardware_id": "9C-B6\x00"}
    assert_field_refused(
        await client.post("/v1/agents", json=body, headers=admin), "body.hardware_id"
    )
    agents = await client.get("/v1/agents", params={"school_id": school["id"]}, headers=admin)
    assert agents.json()["items"] == []


CSV_HEADER = "school_id_giga,school_name,country_iso3_code,num_students,latitude\n"


async def test_a_csv_field_over_the_reader_limit_is_a_422_and_nothing_is_imported(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    giga_id = f"csv-{uuid.uuid4().hex[:10]}"
    body = CSV_HEADER + f'{giga_id},"{"x" * 131_073}",RWA,,\n'
    response = await client.post(
        "/v1/schools/import", content=body, headers=admin | {"Content-Type": "text/csv"}
    )
    assert_field_refused(response, "body")
    assert "field larger than field limit (131072)" in response.json()["errors"][0]["message"]
    assert response.json()["report"]["created"] == 0
    assert await _schools_named(client, admin, giga_id) == []


async def test_csv_cells_are_bounded_and_typed_like_the_json_fields(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    ids = [f"csv-{uuid.uuid4().hex[:10]}" for _ in range(5)]
    body = (
        CSV_HEADER
        + f"{ids[0]},GS Kigeme,RWA,120,-2.47\n"  # line 2: numbers as text, read as numbers
        + f"{ids[1]},GS Big,RWA,2147483648,\n"  # line 3: past int4
        + f"{ids[2]},{'x' * 301},RWA,,\n"  # line 4: past the name's 300
        + f"{ids[3]},GS \x00,RWA,,\n"  # line 5: NUL
        + f"{ids[4]},GS Many,RWA,12.5,\n"  # line 6: no integer
    )
    response = await client.post(
        "/v1/schools/import", content=body, headers=admin | {"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 1
    reasons = {p["line"]: p["reason"] for p in report["rejected"]}
    assert sorted(reasons) == [3, 4, 5, 6]
    assert reasons[3].startswith("num_students:")
    assert reasons[6].startswith("num_students:")
    assert reasons[4].startswith("school_name:")
    assert reasons[5].startswith("school_name:")
    [school] = await _schools_named(client, admin, ids[0])
    assert (school["num_students"], school["latitude"]) == (120, -2.47)
    for giga_id in ids[1:]:
        assert await _schools_named(client, admin, giga_id) == []


async def test_the_openapi_document_states_every_bound_in_json_schema_terms(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    assert pydantic_bound_keys(document) == []
