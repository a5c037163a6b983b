"""Giga Maps' pull of GET /api/v1/measurements/v2 as proco/data_sources/utils.py makes it,
parsed by a model of exactly the fields of its DailyCheckAppMeasurementData (it builds the
model with `model(**item)`: an extra key breaks it); and the backend's other reads."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from c2r_common.testing import TokenFactory
from school_monitor.gigameter.examples import agent_measurement

PULL = "/api/v1/measurements/v2"


class DailyCheckAppMeasurementData(BaseModel):
    """Giga Maps' model (proco/data_sources/models.py), field for field."""

    model_config = ConfigDict(extra="forbid", strict=False)

    created_at: datetime
    timestamp: datetime
    browserId: str | None
    school_id: str  # TextField, not null
    giga_id_school: str | None
    download: float | None
    upload: float | None
    latency: int | None  # BigIntegerField
    country_code: str | None
    ip_address: str | None
    app_version: str | None
    source: str


async def pull_like_giga_maps(
    client: httpx.AsyncClient, headers: dict[str, str], since: datetime, size: int
) -> tuple[list[DailyCheckAppMeasurementData], int]:
    """sync_dailycheckapp_realtime_data: page after page until an empty list; the rows
    and the number of requests."""
    rows: list[DailyCheckAppMeasurementData] = []
    page_no = 0
    while True:
        params = {
            "page": str(page_no),
            "size": str(size),
            "orderBy": "created_at",
            "filterBy": "created_at",
            "filterCondition": "gt",
            "filterValue": f"{since}",  # str(datetime): a space before the time
        }
        page_no += 1
        response = await client.get(PULL, params=params, headers=headers)
        assert response.status_code == 200, response.text
        items = response.json()
        assert isinstance(items, list)
        if not items:
            return rows, page_no
        for item in items:
            assert set(item) == set(DailyCheckAppMeasurementData.model_fields)
            rows.append(DailyCheckAppMeasurementData(**item))


async def push(client: httpx.AsyncClient, headers: dict[str, str], payload: Any) -> None:
    response = await client.post("/api/v1/measurements", json=payload, headers=headers)
    assert response.status_code == 201, response.text


async def test_giga_maps_pulls_every_measurement_once_in_kbps(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], auth_headers: TokenFactory
) -> None:
    school = await make_school("RWA", government_id="RW-100234")
    since = datetime.now(UTC) - timedelta(days=1)  # Giga Maps' first pull
    payloads = [agent_measurement(school["giga_id"], country_code="KE") for _ in range(5)]
    for payload in payloads:
        await push(client, admin, payload)
    reader = auth_headers("schools:read", countries=["RWA"])
    rows, requests = await pull_like_giga_maps(client, reader, since, size=2)
    mine = [r for r in rows if r.giga_id_school == school["giga_id"]]
    assert len(mine) == 5
    assert requests >= 4  # 2 + 2 + 1, then the empty page
    assert [r.created_at for r in rows] == sorted(r.created_at for r in rows)
    assert len({(r.created_at, r.browserId) for r in rows}) == len(rows)  # none twice
    first = mine[0]
    assert (first.download, first.upload, first.latency) == (23456.7, 8123.4, 41)
    assert (first.school_id, first.country_code, first.source) == (
        "RW-100234",
        "RW",
        "DailyCheckApp",
    )
    assert {r.browserId for r in mine} == {p["BrowserID"] for p in payloads}
    assert first.ip_address == "197.243.0.1"
    assert first.app_version == "1.0.10"


async def test_a_shorter_acceptance_window_hides_no_row_already_kept(
    app: FastAPI, client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    since = datetime.now(UTC) - timedelta(days=1)
    late = agent_measurement(school["giga_id"], measured_at=datetime.now(UTC) - timedelta(days=20))
    await push(client, admin, late)  # accepted under the 30-day window
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"max_measurement_age_days": 7})
    try:
        rows, _ = await pull_like_giga_maps(client, admin, since, size=100)
    finally:
        app.state.settings = settings
    assert [r.browserId for r in rows if r.giga_id_school == school["giga_id"]] == [
        late["BrowserID"]
    ]


async def test_school_id_is_never_null_and_native_pushes_are_pulled_too(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], measurement: Any
) -> None:
    school = await make_school("RWA")  # no government id
    pushed = await client.post("/v1/measurements", json=measurement(school["id"]), headers=admin)
    assert pushed.status_code == 201, pushed.text
    since = datetime.now(UTC) - timedelta(days=1)
    rows, _ = await pull_like_giga_maps(client, admin, since, size=1000)
    [row] = [r for r in rows if r.giga_id_school == school["giga_id"]]
    assert (row.school_id, row.browserId, row.download, row.source) == ("", None, 25000.0, "native")


async def test_each_reader_pulls_only_its_countries(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], auth_headers: TokenFactory
) -> None:
    rwandan, kenyan = await make_school("RWA"), await make_school("KEN")
    for school in (rwandan, kenyan):
        await push(client, admin, agent_measurement(school["giga_id"]))
    since = datetime.now(UTC) - timedelta(days=1)
    key = await client.post(
        "/v1/agents/deployment-keys", json={"name": "maps", "countries": ["KEN"]}, headers=admin
    )
    for headers, seen, unseen in (
        (auth_headers("schools:read", countries=["RWA"]), rwandan, kenyan),
        ({"Authorization": f"Bearer {key.json()['key']}"}, kenyan, rwandan),
    ):
        rows, _ = await pull_like_giga_maps(client, headers, since, size=1000)
        giga_ids = {r.giga_id_school for r in rows}
        assert seen["giga_id"] in giga_ids
        assert unseen["giga_id"] not in giga_ids
    refused = await client.get(PULL, headers=auth_headers("measurements:write"))
    assert refused.status_code == 403


async def test_a_bare_date_filters_whole_days_as_upstream(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    await push(client, admin, agent_measurement(school["giga_id"], measured_at=yesterday))
    await push(client, admin, agent_measurement(school["giga_id"]))
    base = {"giga_id_school": school["giga_id"], "filterBy": "timestamp", "size": "100"}

    async def count(condition: str, value: str) -> int:
        params = base | {"filterCondition": condition, "filterValue": value}
        response = await client.get(PULL, params=params, headers=admin)
        assert response.status_code == 200, response.text
        return len(response.json())

    day = yesterday.date().isoformat()
    assert await count("eq", day) == 1
    assert await count("gt", day) == 1  # after the end of that day
    assert await count("lte", day) == 1
    assert await count("gte", day) == 2
    assert await count("lt", day) == 0


async def test_pull_parameters_upstream_refuses_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for params, field in (
        ({"orderBy": "download"}, "query.orderBy"),
        (
            {"filterBy": "download", "filterCondition": "gt", "filterValue": "2024-01-14"},
            "query.filterBy",
        ),
        ({"filterBy": "created_at", "filterValue": "2024-01-14"}, "query.filterCondition"),
        ({"filterBy": "created_at", "filterCondition": "gt"}, "query.filterValue"),
        (
            {"filterBy": "created_at", "filterCondition": "gt", "filterValue": "soon"},
            "query.filterValue",
        ),
        ({"size": "1001"}, "query.size"),
    ):
        response = await client.get(PULL, params=params, headers=admin)
        assert response.status_code == 422, (params, response.text)
        assert field in [e["field"] for e in response.json()["errors"]]


async def test_the_documented_reads_answer_in_upstreams_envelope(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], auth_headers: TokenFactory
) -> None:
    school = await make_school("RWA", government_id="RW-555")
    payload = agent_measurement(school["giga_id"], school_id="RW-555")
    await push(client, admin, payload)
    listed = await client.get(
        "/api/v1/measurements", params={"giga_id_school": school["giga_id"]}, headers=admin
    )
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["success"], body["message"]) == (True, "success")
    [item] = body["data"]
    assert (item["UUID"], item["Download"], item["Latency"]) == (payload["UUID"], 23456.7, 41)
    assert item["DataDownloaded"] == 30512344
    assert "ConnectionInfo" not in item["Results"]["NDTResult.S2C"]["LastServerMeasurement"]
    by_school = await client.get("/api/v1/measurements/school_id/RW-555", headers=admin)
    assert [m["UUID"] for m in by_school.json()["data"]] == [payload["UUID"]]
    kenya = auth_headers("schools:read", countries=["KEN"])
    hidden = await client.get("/api/v1/measurements/school_id/RW-555", headers=kenya)
    assert hidden.json()["data"] == []

    unknown = agent_measurement("no-such-school", country_code="RW")
    response = await client.post("/api/v1/measurements", json=unknown, headers=admin)
    assert response.status_code == 400
    rwanda = auth_headers("schools:read", countries=["RWA"])
    failed = await client.get(
        "/api/v1/measurements/failed", params={"size": "1000"}, headers=rwanda
    )
    [record] = [f for f in failed.json()["data"] if f["UUID"] == unknown["UUID"]]
    assert (record["reason"], record["country_code"], record["Download"]) == (
        "unknown_school",
        "RW",
        unknown["Download"],
    )


async def test_a_filter_value_giga_maps_did_not_url_encode_is_read(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    await push(client, admin, agent_measurement(school["giga_id"]))
    since = f"{datetime.now(UTC) - timedelta(days=1)}".replace("+", " ")  # '+' as a space
    params = {"filterBy": "created_at", "filterCondition": "gt", "filterValue": since}
    response = await client.get(PULL, params=params, headers=admin)
    assert response.status_code == 200, response.text
    assert school["giga_id"] in {item["giga_id_school"] for item in response.json()}
