"""The school registry: master data, tags, filters, CSV import, GeoJSON."""

import uuid
from typing import Any

import httpx

CSV_HEADER = (
    "school_id_giga,school_id_govt,school_name,admin1,admin2,latitude,longitude,"
    "education_level,connectivity_type,electricity_availability,num_students,"
    "country_iso3_code,tags,water_availability\n"
)


def csv_row(giga_id: str, name: str = "GS Kigeme", **overrides: str) -> str:
    cells = {
        "giga_id": giga_id,
        "govt": "RW-1",
        "name": name,
        "admin1": "Southern Province",
        "admin2": "Nyamagabe",
        "lat": "-2.47",
        "lon": "29.52",
        "level": "Primary",
        "ctype": "fibre",
        "power": "Yes",
        "students": "640",
        "country": "RWA",
        "tags": "refugee-hosting;giga-pilot",
        "water": "Yes",
    } | overrides
    return ",".join(cells.values()) + "\n"


async def test_school_round_trip_with_master_data_and_tags(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school(
        "RWA",
        num_students=640,
        electricity_availability=True,
        connectivity_type="fibre",
        tags=["Refugee-Hosting", "teacher-training"],
    )
    assert school["tags"] == ["refugee-hosting", "teacher-training"]
    assert (school["connectivity_status"], school["is_online"]) == ("unknown", False)
    patched = await client.patch(
        f"/v1/schools/{school['id']}",
        json={"num_students": 700, "tags": ["pilot-2021"]},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["num_students"], patched.json()["tags"]) == (700, ["pilot-2021"])
    fetched = (await client.get(f"/v1/schools/{school['id']}", headers=admin)).json()
    assert (fetched["num_students"], fetched["tags"], fetched["connectivity_type"]) == (
        700,
        ["pilot-2021"],
        "fibre",
    )


async def test_duplicate_giga_id_and_bad_fields_are_problems(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school()
    again = {"giga_id": school["giga_id"], "name": "Copy", "country_iso3": "RWA"}
    assert (await client.post("/v1/schools", json=again, headers=admin)).status_code == 409
    bad = {"giga_id": "x", "name": "X", "country_iso3": "RWA", "latitude": 91, "tags": ["no tags!"]}
    response = await client.post("/v1/schools", json=bad, headers=admin)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.latitude", "body.tags.0"]
    changing_country = await client.patch(
        f"/v1/schools/{school['id']}", json={"country_iso3": "KEN"}, headers=admin
    )
    assert changing_country.status_code == 422
    no_name = await client.patch(f"/v1/schools/{school['id']}", json={"name": None}, headers=admin)
    assert [e["field"] for e in no_name.json()["errors"]] == ["body.name"]


async def test_list_filters_and_cursor_pagination(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    region = f"Region {uuid.uuid4().hex[:6]}"
    tag = f"pilot-{uuid.uuid4().hex[:6]}"
    made = [
        await make_school("UGA", admin1=region, education_level="Primary", tags=[tag]),
        await make_school("UGA", admin1=region, education_level="Secondary", tags=[tag]),
        await make_school("UGA", admin1=region, education_level="Primary"),
    ]
    query = {"country": "UGA", "admin1": region}
    seen: list[str] = []
    cursor = None
    while True:
        params = query | {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/schools", params=params, headers=admin)).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(s["id"] for s in made)
    assert seen == sorted(seen, key=uuid.UUID)  # stable order
    tagged = await client.get("/v1/schools", params=query | {"tag": tag}, headers=admin)
    assert len(tagged.json()["items"]) == 2
    primary_tagged = await client.get(
        "/v1/schools", params=query | {"tag": tag, "education_level": "Primary"}, headers=admin
    )
    assert [s["id"] for s in primary_tagged.json()["items"]] == [made[0]["id"]]
    unknown = await client.get("/v1/schools", params=query | {"status": "unknown"}, headers=admin)
    assert len(unknown.json()["items"]) == 3
    good = await client.get("/v1/schools", params=query | {"status": "good"}, headers=admin)
    assert good.json()["items"] == []


async def test_country_limited_reader_sees_only_its_countries(
    client: httpx.AsyncClient, make_school: Any, auth_headers: Any
) -> None:
    kenyan = await make_school("KEN")
    rwanda_reader = auth_headers("schools:read", countries=["RWA"])
    assert (
        await client.get(f"/v1/schools/{kenyan['id']}", headers=rwanda_reader)
    ).status_code == 404
    listed = await client.get("/v1/schools", params={"limit": 500}, headers=rwanda_reader)
    assert {s["country_iso3"] for s in listed.json()["items"]} <= {"RWA"}


async def test_csv_import_upserts_reports_bad_rows_and_unknown_columns(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    ids = [f"csv-{uuid.uuid4().hex[:10]}" for _ in range(3)]
    body = (
        CSV_HEADER
        + csv_row(ids[0])
        + csv_row(ids[1], lat="123")  # line 3: latitude out of range
        + csv_row(ids[2], country="XYZ")  # line 4: unknown country
        + csv_row(ids[0], name="Duplicate")  # line 5: repeats line 2
        + csv_row(ids[1])
    )
    headers = admin | {"Content-Type": "text/csv"}
    response = await client.post("/v1/schools/import", content=body, headers=headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["created"], report["updated"]) == (5, 2, 0)
    assert [p["line"] for p in report["rejected"]] == [3, 4, 5]
    assert report["rejected"][0]["reason"].startswith("latitude:")
    assert report["unknown_columns"] == ["water_availability"]
    updated_body = CSV_HEADER + csv_row(ids[0], name="GS Kigeme II", students="700", tags="")
    files = {"file": ("schools.csv", updated_body.encode(), "text/csv")}
    second = await client.post("/v1/schools/import", files=files, headers=admin)
    assert (second.json()["created"], second.json()["updated"]) == (0, 1)
    listed = await client.get("/v1/schools", params={"country": "RWA", "limit": 500}, headers=admin)
    school = next(s for s in listed.json()["items"] if s["giga_id"] == ids[0])
    assert (school["name"], school["num_students"], school["tags"]) == ("GS Kigeme II", 700, [])
    assert school["electricity_availability"] is True


async def test_csv_import_needs_csv_and_a_country(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.post("/v1/schools/import", json={"a": 1}, headers=admin)
    assert response.status_code == 415
    no_country = "school_id_giga,school_name\nx-1,School\n"
    headers = admin | {"Content-Type": "text/csv"}
    report = (await client.post("/v1/schools/import", content=no_country, headers=headers)).json()
    assert report["rejected"][0]["reason"].startswith("country_iso3")
    with_default = await client.post(
        "/v1/schools/import",
        params={"country": "RWA"},
        content=no_country.replace("x-1", f"x-{uuid.uuid4().hex[:8]}"),
        headers=headers,
    )
    assert with_default.json()["created"] == 1


async def test_geojson_feature_collection_with_status(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], measurement: Any
) -> None:
    region = f"Region {uuid.uuid4().hex[:6]}"
    school = await make_school("RWA", admin1=region, latitude=-2.47, longitude=29.52)
    await make_school("RWA", admin1=region)  # no coordinates
    await client.post("/v1/measurements", json=measurement(school["id"]), headers=admin)
    response = await client.get(
        "/v1/schools/geojson", params={"country": "RWA", "admin1": region}, headers=admin
    )
    assert response.status_code == 200, response.text
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    located = next(f for f in collection["features"] if f["id"] == school["id"])
    assert located["geometry"] == {"type": "Point", "coordinates": [29.52, -2.47]}
    assert located["properties"]["connectivity_status"] == "good"
    assert any(f["geometry"] is None for f in collection["features"])


async def test_seed_is_idempotent(
    app: Any, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    from school_monitor.seed import PILOT_TAG, SCHOOLS, seed

    await seed(app.state.database)
    await seed(app.state.database)
    listed = await client.get("/v1/schools", params={"tag": PILOT_TAG}, headers=admin)
    assert len(listed.json()["items"]) == 5
    hosting = await client.get(
        "/v1/schools", params={"tag": "refugee-hosting", "country": "RWA"}, headers=admin
    )
    assert any(s["giga_id"] == SCHOOLS[0].giga_id for s in hosting.json()["items"])
