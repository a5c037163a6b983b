"""The Giga Meter v2 agent's batches: its offline backlog (POST /api/v1/measurements/multiple,
a bare array of 5 as sync.service.ts sends it) and its ping records (POST
/api/v1/connectivity/{giga_id} with {records: [...]}), each stored once however often sent."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from prometheus_client import REGISTRY
from test_giga_meter import key_and_registered_device

from c2r_common.testing import TokenFactory
from school_monitor.gigameter.examples import agent_measurement, agent_ping_record

BACKLOG = "/api/v1/measurements/multiple"
FAILED = "/v1/measurements/failed"


def backlog_record(giga_id: str, n: int, **fields: Any) -> dict[str, Any]:
    """A measurement as the v2 agent keeps it in IndexedDB and posts it: with its local
    id, status and createdAt (sync.service.ts strips only isSynced)."""
    measured_at = datetime.now(UTC) - timedelta(hours=n + 1)
    record = agent_measurement(giga_id, measured_at=measured_at, app_version="2.0.4")
    return record | {"id": n + 1, "status": "pending", "createdAt": 1764633600000} | fields


async def measurement_uuids(
    client: httpx.AsyncClient, school: dict[str, Any], admin: dict[str, str]
) -> list[str]:
    listed = await client.get(f"/v1/schools/{school['id']}/measurements", headers=admin)
    return sorted(m["uuid"] for m in listed.json()["items"])


async def failed_of(
    client: httpx.AsyncClient, headers: dict[str, str], uuids: set[str]
) -> list[Any]:
    listed = await client.get(FAILED, params={"limit": 200}, headers=headers)
    return [f for f in listed.json()["items"] if f["client_uuid"] in uuids]


async def ping_count(
    client: httpx.AsyncClient, school: dict[str, Any], admin: dict[str, str]
) -> int:
    daily = await client.get(f"/v1/schools/{school['id']}/daily", headers=admin)
    assert daily.status_code == 200, daily.text
    return sum(day["ping_count"] for day in daily.json())


async def test_a_backlog_is_stored_once_however_often_it_is_sent(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    batch = [backlog_record(school["giga_id"], n) for n in range(5)]
    first = await client.post(BACKLOG, json=batch, headers=admin)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["success"], body["message"]) == (True, "success")
    assert (body["data"]["stored"], body["data"]["duplicates"]) == (5, 0)
    again = await client.post(BACKLOG, json=batch, headers=admin)  # the agent's retry
    assert again.status_code == 201, again.text
    assert (again.json()["data"]["stored"], again.json()["data"]["duplicates"]) == (0, 5)
    assert await measurement_uuids(client, school, admin) == sorted(r["UUID"] for r in batch)


async def test_what_cannot_be_stored_is_recorded_as_failed_once_and_the_rest_stored(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    good = [backlog_record(school["giga_id"], n) for n in range(3)]
    unknown = backlog_record(f"no-such-{uuid.uuid4().hex[:6]}", 3)
    invalid = backlog_record(school["giga_id"], 4, Latency=False)
    batch = [good[0], unknown, good[1], invalid, good[2]]
    for _ in range(2):
        response = await client.post(BACKLOG, json=batch, headers=admin)
        assert response.status_code == 201, response.text
        reasons = {f["index"]: f["reason"] for f in response.json()["data"]["failed"]}
        assert reasons == {1: "unknown_school", 3: "invalid"}
    assert await measurement_uuids(client, school, admin) == sorted(r["UUID"] for r in good)
    records = await failed_of(client, admin, {unknown["UUID"], invalid["UUID"]})
    assert sorted(r["reason"] for r in records) == ["invalid", "unknown_school"]


def rejected_count(reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "c2r_school_monitor_measurements_rejected_total",
        {"kind": "measurement", "reason": reason, "source": "DailyCheckApp"},
    )
    return value or 0.0


async def test_each_item_a_backlog_cannot_store_is_counted_rejected_once(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    too_old = datetime.now(UTC) - timedelta(days=400)
    batch = [
        backlog_record(school["giga_id"], 0),
        backlog_record(school["giga_id"], 1, Timestamp=too_old.isoformat()),
        backlog_record(f"no-such-{uuid.uuid4().hex[:6]}", 2),
        backlog_record(school["giga_id"], 3, Latency=False),
    ]
    reasons = ("out_of_window", "unknown_school", "invalid")
    before = {reason: rejected_count(reason) for reason in reasons}
    response = await client.post(BACKLOG, json=batch, headers=admin)
    assert response.status_code == 201, response.text
    failed = {f["index"]: f["reason"] for f in response.json()["data"]["failed"]}
    assert failed == {1: "out_of_window", 2: "unknown_school", 3: "invalid"}
    assert {reason: rejected_count(reason) - before[reason] for reason in reasons} == dict.fromkeys(
        reasons, 1.0
    )


async def test_a_backlog_of_which_nothing_can_be_stored_is_upstreams_400(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    batch = [backlog_record(f"no-such-{uuid.uuid4().hex[:6]}", n) for n in range(2)]
    response = await client.post(BACKLOG, json=batch, headers=admin)
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["body.0", "body.1"]
    assert len(await failed_of(client, admin, {r["UUID"] for r in batch})) == 2


async def test_a_backlog_refused_whole_names_the_field_of_each_item_that_a_rule_refused(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    unmeasured = backlog_record(school["giga_id"], 0, Latency="NaN")
    del unmeasured["Results"]["NDTResult.S2C"]["LastServerMeasurement"]["TCPInfo"]["MinRTT"]
    too_old = backlog_record(school["giga_id"], 24 * 400)
    response = await client.post(BACKLOG, json=[unmeasured, too_old], headers=admin)
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["body.0.Latency", "body.1.Timestamp"]
    assert await measurement_uuids(client, school, admin) == []


async def test_a_backlog_flags_the_country_of_the_agents_ip(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    batch = [backlog_record(school["giga_id"], 0, country_code="KE")]
    assert (await client.post(BACKLOG, json=batch, headers=admin)).status_code == 201
    assert (await client.post(BACKLOG, json=batch, headers=admin)).status_code == 201
    flags = (await client.get("/v1/measurements/flags", headers=admin)).json()["items"]
    assert [f["kind"] for f in flags if f["measurement_uuid"] == batch[0]["UUID"]] == [
        "country_mismatch"
    ]


async def test_a_backlog_for_another_countrys_school_stores_nothing_and_files_nothing_there(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], auth_headers: TokenFactory
) -> None:
    rwandan = await make_school("RWA")
    batch = [backlog_record(rwandan["giga_id"], 0, country_code="RW")]
    mauritania = auth_headers("measurements:write", countries=["MRT"])
    response = await client.post(BACKLOG, json=batch, headers=mauritania)
    assert response.status_code == 400, response.text
    assert "RWA" not in response.text
    unknown = [backlog_record(f"no-such-{uuid.uuid4().hex[:6]}", 0, country_code="RW")]
    missing = await client.post(BACKLOG, json=unknown, headers=mauritania)
    answers = [r.json() | {"request_id": None} for r in (response, missing)]
    assert (missing.status_code, answers[1]) == (400, answers[0])
    assert await measurement_uuids(client, rwandan, admin) == []
    rwanda = auth_headers("schools:read", countries=["RWA"])
    assert await failed_of(client, rwanda, {batch[0]["UUID"]}) == []


async def test_a_failed_record_is_filed_under_the_schools_country_not_the_one_sent(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], auth_headers: TokenFactory
) -> None:
    rwandan = await make_school("RWA")
    too_old = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    unknown = f"no-such-{uuid.uuid4().hex[:6]}"
    # A Rwandan school behind a Kenyan link: the agent sends its IP address's country.
    batch = [
        backlog_record(rwandan["giga_id"], 0, country_code="KE"),
        backlog_record(rwandan["giga_id"], 1, country_code="KE", Timestamp=too_old),
        backlog_record(rwandan["giga_id"].upper(), 2, country_code="KE", Latency=False),
        backlog_record(unknown, 3, country_code="RW"),
        backlog_record(unknown, 4, country_code="KE"),
    ]
    rwanda_writer = auth_headers("measurements:write", countries=["RWA"])
    response = await client.post(BACKLOG, json=batch, headers=rwanda_writer)
    assert response.status_code == 201, response.text
    assert [f["index"] for f in response.json()["data"]["failed"]] == [1, 2, 3, 4]
    uuids = {record["UUID"] for record in batch[1:]}
    rwanda = auth_headers("schools:read", countries=["RWA"])
    kenya = auth_headers("schools:read", countries=["KEN"])
    seen_by_rwanda = {f["client_uuid"] for f in await failed_of(client, rwanda, uuids)}
    assert seen_by_rwanda == {batch[1]["UUID"], batch[2]["UUID"], batch[3]["UUID"]}
    assert await failed_of(client, kenya, uuids) == []
    assert len(await failed_of(client, admin, uuids)) == 4  # staff see the unfiled one


async def test_a_backlog_that_is_no_array_of_objects_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    bodies: list[Any] = [{"items": []}, [], [1, 2]]
    for body in bodies:
        response = await client.post(BACKLOG, json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_ping_records_are_answered_with_the_records_and_stored_once(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    now = datetime.now(UTC)
    browser = str(uuid.uuid4())
    records = [
        agent_ping_record(school["giga_id"], browser, now - timedelta(minutes=15 * n))
        for n in range(5)
    ]
    records[4] |= {"isConnected": False, "latency": None, "errorMessage": "All target hosts failed"}
    path = f"/api/v1/connectivity/{school['giga_id']}"
    for _ in range(2):  # a re-sent batch: upstream fails it whole, here it is acknowledged
        response = await client.post(path, json={"records": records}, headers=admin)
        assert response.status_code == 201, response.text
        assert response.json() == records
    assert await ping_count(client, school, admin) == 5


async def test_a_ping_uuid_that_is_not_rfc_4122_is_stored_once(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    record = agent_ping_record(school["giga_id"], "b", datetime.now(UTC)) | {
        "app_local_uuid": "1764633600000-abc"
    }
    path = f"/api/v1/connectivity/{school['giga_id']}"
    for _ in range(2):
        response = await client.post(path, json={"records": [record]}, headers=admin)
        assert response.status_code == 201, response.text
    assert await ping_count(client, school, admin) == 1


async def test_ping_records_of_an_unknown_or_foreign_school_are_upstreams_400(
    client: httpx.AsyncClient, make_school: Any, auth_headers: TokenFactory, admin: dict[str, str]
) -> None:
    rwandan = await make_school("RWA")
    mauritania = auth_headers("measurements:write", countries=["MRT"])
    answers = []
    for giga_id in (rwandan["giga_id"], f"no-such-{uuid.uuid4().hex[:6]}"):
        records = [agent_ping_record(giga_id, "b", datetime.now(UTC))]
        response = await client.post(
            f"/api/v1/connectivity/{giga_id}", json={"records": records}, headers=mauritania
        )
        assert response.status_code == 400, response.text
        answers.append((response.json()["title"], response.json()["detail"]))
    assert answers[0] == answers[1] == ("Unknown school", "School does not exist")
    assert await ping_count(client, rwandan, admin) == 0


async def test_an_invalid_ping_record_stores_none_of_the_batch(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    good = agent_ping_record(school["giga_id"], "b", datetime.now(UTC))
    bad = agent_ping_record(school["giga_id"], "b", datetime.now(UTC))
    del bad["isConnected"]
    old = agent_ping_record(school["giga_id"], "b", datetime.now(UTC) - timedelta(days=90))
    path = f"/api/v1/connectivity/{school['giga_id']}"
    for records, field in (([good, bad], "body.records.1.isConnected"), ([good, old], None)):
        response = await client.post(path, json={"records": records}, headers=admin)
        assert response.status_code == 422, response.text
        fields = [e["field"] for e in response.json()["errors"]]
        assert fields == [field or "body.records.1.timestamp"]
    assert await ping_count(client, school, admin) == 0


async def test_with_a_deployment_key_batches_are_stored_for_registered_devices_only(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    key, agent = await key_and_registered_device(client, admin, school)
    registered = backlog_record(school["giga_id"], 0, BrowserID=agent["id"])
    stranger = backlog_record(school["giga_id"], 1)  # a BrowserID no device has
    response = await client.post(BACKLOG, json=[registered, stranger], headers=key)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["failed"] == [{"index": 1, "reason": "unregistered_device"}]
    assert await measurement_uuids(client, school, admin) == [registered["UUID"]]

    path = f"/api/v1/connectivity/{school['giga_id']}"
    records = [agent_ping_record(school["giga_id"], agent["id"], datetime.now(UTC))]
    assert (await client.post(path, json={"records": records}, headers=key)).status_code == 201
    unknown_browser = [agent_ping_record(school["giga_id"], "someone", datetime.now(UTC))]
    refused = await client.post(path, json={"records": unknown_browser}, headers=key)
    assert refused.status_code == 400, refused.text
    assert refused.json()["title"] == "Unregistered device"
    assert await ping_count(client, school, admin) == 1


async def test_nul_characters_in_a_batch_are_refused_not_a_server_error(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    good = backlog_record(school["giga_id"], 0)
    bad = backlog_record(school["giga_id"], 1, giga_id_school="a\x00b", UUID="c\x00d")
    response = await client.post(BACKLOG, json=[good, bad], headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["failed"] == [{"index": 1, "reason": "invalid"}]
    [record] = await failed_of(client, admin, {"cd"})
    assert record["giga_id_school"] == "ab"
    records = {"records": [agent_ping_record("a\x00b", "b", datetime.now(UTC))]}
    refused = await client.post("/api/v1/connectivity/a%00b", json=records, headers=admin)
    assert refused.status_code == 422, refused.text
