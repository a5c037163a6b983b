"""Native ingestion: single and batch pushes of measurements and ping checks."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from school_monitor.measurements.models import Measurement, Ping
from school_monitor.rollups.models import SchoolDaily

PROBLEM = "application/problem+json"


async def stored_measurements(app: FastAPI, school_id: str) -> int:
    async with app.state.database.sessionmaker() as session:
        statement = select(func.count()).where(Measurement.school_id == uuid.UUID(school_id))
        return int(await session.scalar(statement) or 0)


async def test_single_measurement_is_stored_and_a_retry_is_acknowledged_not_stored(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], measurement: Any
) -> None:
    school = await make_school()
    item = measurement(school["id"])
    first = await client.post("/v1/measurements", json=item, headers=admin)
    retry = await client.post("/v1/measurements", json=item, headers=admin)
    assert (first.status_code, first.json()["stored"]) == (201, True)
    assert (retry.status_code, retry.json()["stored"]) == (200, False)
    listed = await client.get(f"/v1/schools/{school['id']}/measurements", headers=admin)
    assert [m["uuid"] for m in listed.json()["items"]] == [item["uuid"]]


async def test_batch_stores_good_items_and_reports_every_bad_one_by_index(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_school: Any,
    admin: dict[str, str],
    measurement: Any,
) -> None:
    school = await make_school()
    now = datetime.now(UTC)
    items = [
        measurement(school["id"]),
        measurement(school["id"], latency_ms=-5),
        measurement(school["id"], measured_at=(now + timedelta(minutes=10)).isoformat()),
        measurement(school["id"], measured_at=(now - timedelta(days=400)).isoformat()),
        measurement(str(uuid.uuid4())),
        measurement(school["id"], download_mbps="fast"),
        measurement(school["id"]),
    ]
    response = await client.post("/v1/measurements/batch", json={"items": items}, headers=admin)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["received"], report["stored"], report["duplicates"]) == (7, 2, 0)
    rejected = {p["index"]: p for p in report["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 4, 5]
    assert rejected[1]["errors"][0]["field"] == "body.items.1.latency_ms"
    assert rejected[2]["reason"] == rejected[3]["reason"] == "out_of_window"
    assert rejected[2]["errors"][0]["field"] == "body.items.2.measured_at"
    assert rejected[4]["reason"] == "unknown_school"
    assert rejected[5]["errors"][0]["field"] == "body.items.5.download_mbps"
    assert await stored_measurements(app, school["id"]) == 2


async def test_a_retried_batch_stores_nothing_twice(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_school: Any,
    admin: dict[str, str],
    measurement: Any,
) -> None:
    school = await make_school()
    items = [measurement(school["id"]) for _ in range(20)]
    first = await client.post("/v1/measurements/batch", json={"items": items}, headers=admin)
    extra = measurement(school["id"])
    retry = await client.post(
        "/v1/measurements/batch", json={"items": [*items, extra]}, headers=admin
    )
    assert (first.json()["stored"], first.json()["duplicates"]) == (20, 0)
    assert (retry.json()["stored"], retry.json()["duplicates"]) == (1, 20)
    assert await stored_measurements(app, school["id"]) == 21
    async with app.state.database.sessionmaker() as session:
        day = await session.get(SchoolDaily, (uuid.UUID(school["id"]), datetime.now(UTC).date()))
    assert day is not None
    assert day.measurement_count == 21  # the rollup did not count the retry either


async def test_the_same_uuid_twice_in_one_batch_is_stored_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_school: Any,
    admin: dict[str, str],
    measurement: Any,
) -> None:
    school = await make_school()
    item = measurement(school["id"])
    response = await client.post(
        "/v1/measurements/batch", json={"items": [item, item]}, headers=admin
    )
    assert (response.json()["stored"], response.json()["duplicates"]) == (1, 1)
    assert await stored_measurements(app, school["id"]) == 1


async def test_batch_with_idempotency_key_replays_the_first_report(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], measurement: Any
) -> None:
    school = await make_school()
    body = {"items": [measurement(school["id"]) for _ in range(3)]}
    headers = admin | {"Idempotency-Key": "batch-1"}
    first = await client.post("/v1/measurements/batch", json=body, headers=headers)
    again = await client.post("/v1/measurements/batch", json=body, headers=headers)
    assert first.json() == again.json()
    assert again.json()["stored"] == 3
    other = await client.post(
        "/v1/measurements/batch", json={"items": [measurement(school["id"])]}, headers=headers
    )
    assert other.status_code == 422


async def test_batch_where_every_item_is_bad_is_a_problem_naming_the_fields(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], measurement: Any
) -> None:
    school = await make_school()
    items = [measurement(school["id"], upload_mbps=-1), measurement(school["id"], uuid="nope")]
    response = await client.post("/v1/measurements/batch", json={"items": items}, headers=admin)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["body.items.0.upload_mbps", "body.items.1.uuid"]


async def test_batch_of_more_than_5000_items_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    items = [{"uuid": str(uuid.uuid4())}] * 5001
    response = await client.post("/v1/measurements/batch", json={"items": items}, headers=admin)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.items"


async def test_single_bad_measurement_is_a_problem_naming_the_field(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], measurement: Any
) -> None:
    school = await make_school()
    implausible = measurement(school["id"], download_mbps=5_000_000)
    response = await client.post("/v1/measurements", json=implausible, headers=admin)
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == ["body.download_mbps"]
    future = measurement(
        school["id"], measured_at=(datetime.now(UTC) + timedelta(minutes=6)).isoformat()
    )
    response = await client.post("/v1/measurements", json=future, headers=admin)
    assert [e["field"] for e in response.json()["errors"]] == ["body.measured_at"]


async def test_measurement_time_without_offset_is_refused(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], measurement: Any
) -> None:
    school = await make_school()
    naive = measurement(school["id"], measured_at="2026-01-01T10:00:00")
    response = await client.post("/v1/measurements", json=naive, headers=admin)
    assert [e["field"] for e in response.json()["errors"]] == ["body.measured_at"]


async def test_a_user_token_must_name_the_school(
    client: httpx.AsyncClient, admin: dict[str, str], measurement: Any
) -> None:
    response = await client.post("/v1/measurements", json=measurement(), headers=admin)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.school_id"]


async def test_a_school_of_another_country_is_refused_like_an_unknown_one(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_school: Any,
    auth_headers: Any,
    measurement: Any,
    ping: Any,
) -> None:
    kenyan = await make_school("KEN")
    unknown = str(uuid.uuid4())
    rwanda_only = auth_headers("measurements:write", countries=["RWA"])

    async def answer(path: str, body: Any, school_id: str) -> tuple[int, str]:
        response = await client.post(path, json=body, headers=rwanda_only)
        text = json.dumps(response.json() | {"request_id": None}, sort_keys=True)
        return response.status_code, text.replace(school_id, "<id>")

    pushes = [
        ("/v1/measurements", lambda school_id: measurement(school_id)),
        ("/v1/pings", lambda school_id: ping(school_id)),
        ("/v1/measurements/batch", lambda school_id: {"items": [measurement(school_id)]}),
        ("/v1/pings/batch", lambda school_id: {"items": [ping(school_id)]}),
    ]
    for path, body in pushes:
        foreign = await answer(path, body(kenyan["id"]), kenyan["id"])
        missing = await answer(path, body(unknown), unknown)
        assert foreign == missing, path
        assert foreign[0] in (200, 422), foreign
        assert "KEN" not in foreign[1]
    assert await stored_measurements(app, kenyan["id"]) == 0


async def test_pings_single_and_batch_are_stored_once(
    app: FastAPI, client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], ping: Any
) -> None:
    school = await make_school()
    one = ping(school["id"])
    first = await client.post("/v1/pings", json=one, headers=admin)
    retry = await client.post("/v1/pings", json=one, headers=admin)
    assert (first.status_code, retry.status_code) == (201, 200)
    items = [one, ping(school["id"], is_connected=False, error="timeout"), ping(school["id"])]
    items.append(ping(school["id"], is_connected="perhaps"))
    response = await client.post("/v1/pings/batch", json={"items": items}, headers=admin)
    report = response.json()
    assert (report["stored"], report["duplicates"]) == (2, 1)
    assert [p["errors"][0]["field"] for p in report["rejected"]] == ["body.items.3.is_connected"]
    async with app.state.database.sessionmaker() as session:
        statement = select(func.count()).where(Ping.school_id == uuid.UUID(school["id"]))
        assert await session.scalar(statement) == 3


async def test_concurrent_single_pushes_are_committed_together_with_their_own_outcomes(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_school: Any,
    device_headers: Any,
    measurement: Any,
) -> None:
    import asyncio

    own, other = await make_school(), await make_school()
    device = await device_headers(own["id"])
    # One push first: the test's sessions share one connection, which cannot serve the
    # token lookups of concurrent requests; with the token cached, only the group commit
    # touches the database.
    warm_up = await client.post("/v1/measurements", json=measurement(), headers=device)
    assert warm_up.status_code == 201
    items = [measurement() for _ in range(15)]
    pushes = [client.post("/v1/measurements", json=item, headers=device) for item in items]
    pushes.append(client.post("/v1/measurements", json=items[0], headers=device))  # a retry
    pushes.append(client.post("/v1/measurements", json=measurement(other["id"]), headers=device))
    pushes.append(client.post("/v1/measurements", json=measurement(latency_ms=-3), headers=device))
    responses = await asyncio.gather(*pushes)
    statuses = [r.status_code for r in responses]
    assert statuses[:15] == [201] * 15 or sorted(statuses[:16]) == [200] + [201] * 15
    assert statuses[16:] == [403, 422]
    assert responses[17].json()["errors"][0]["field"] == "body.latency_ms"
    assert await stored_measurements(app, own["id"]) == 16
    assert await stored_measurements(app, other["id"]) == 0
