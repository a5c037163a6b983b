"""POST /api/v1/measurements with the payload the released agent builds: units, the input
rules (Latency, empty UUID, country codes), failed records, and who may write for which
school."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from prometheus_client import REGISTRY

from c2r_common.testing import TokenFactory
from school_monitor.gigameter.examples import agent_measurement

PUSH = "/api/v1/measurements"
FLAGS = "/v1/measurements/flags"
FAILED = "/v1/measurements/failed"


async def stored_measurements(
    client: httpx.AsyncClient, school: dict[str, Any], admin: dict[str, str]
) -> list[dict[str, Any]]:
    listed = await client.get(f"/v1/schools/{school['id']}/measurements", headers=admin)
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


async def failed_records(
    client: httpx.AsyncClient, headers: dict[str, str], client_uuid: str
) -> list[dict[str, Any]]:
    listed = await client.get(FAILED, params={"limit": 200}, headers=headers)
    assert listed.status_code == 200, listed.text
    return [f for f in listed.json()["items"] if f["client_uuid"] == client_uuid]


async def key_and_registered_device(
    client: httpx.AsyncClient, admin: dict[str, str], school: dict[str, Any]
) -> tuple[dict[str, str], dict[str, Any]]:
    """A deployment key for Rwanda (its Authorization header) and an agent of the school,
    whose id the app sends as BrowserID."""
    created = await client.post(
        "/v1/agents/deployment-keys", json={"name": "build", "countries": ["RWA"]}, headers=admin
    )
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    body = {"school_id": school["id"], "hardware_id": f"hw-{uuid.uuid4().hex}"}
    agent = (await client.post("/v1/agents", json=body, headers=admin)).json()
    return key, agent


async def test_the_agents_payload_is_stored_in_mbps(
    client: httpx.AsyncClient, make_school: Any, device_headers: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    device = await device_headers(school["id"])
    payload = agent_measurement(school["giga_id"])
    response = await client.post(PUSH, json=payload, headers=device)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["success"], body["message"], body["data"]["status"]) == (True, "success", "stored")
    [stored] = await stored_measurements(client, school, admin)
    assert stored["uuid"] == payload["UUID"]
    assert stored["download_mbps"] == 23.4567
    assert stored["upload_mbps"] == 8.1234
    assert stored["source"] == "DailyCheckApp"
    assert stored["app_version"] == "1.0.10"
    assert stored["server"] == "ndt-mlab1-nbo01.mlab-oti.measurement-lab.org"
    status = (await client.get(f"/v1/schools/{school['id']}/status", headers=admin)).json()
    assert status["connectivity_status"] == "good"


async def test_from_1_0_9_latency_is_the_ndt7_download_min_rtt(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    # The app sends "42" (BBR MinRTT of both directions); upstream takes TCPInfo.MinRTT of
    # the download: 41,000 us -> 41 ms.
    for latency in ("42", "NaN", None):
        payload = agent_measurement(school["giga_id"], app_version="1.0.9")
        payload["Latency"] = latency
        response = await client.post(PUSH, json=payload, headers=admin)
        assert response.status_code == 201, response.text
    assert [m["latency_ms"] for m in await stored_measurements(client, school, admin)] == [41.0] * 3


async def test_before_1_0_9_the_latency_sent_is_kept_even_as_a_string(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    payload = agent_measurement(school["giga_id"], app_version="1.0.8")
    response = await client.post(PUSH, json=payload, headers=admin)
    assert response.status_code == 201, response.text
    [stored] = await stored_measurements(client, school, admin)
    assert stored["latency_ms"] == 42.0


async def test_a_latency_of_nan_with_nothing_to_take_it_from_is_refused(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    for version in ("1.0.8", "1.0.10"):
        payload = agent_measurement(school["giga_id"], app_version=version)
        payload["Latency"] = "NaN"
        del payload["Results"]["NDTResult.S2C"]["LastServerMeasurement"]["TCPInfo"]["MinRTT"]
        response = await client.post(PUSH, json=payload, headers=admin)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in response.json()["errors"]] == ["body.Latency"]
    assert await stored_measurements(client, school, admin) == []


async def test_a_boolean_or_an_infinite_number_is_no_speed_or_latency(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    for field, value in (("Latency", False), ("Latency", "Infinity"), ("Download", True)):
        payload = agent_measurement(school["giga_id"]) | {field: value}
        response = await client.post(PUSH, json=payload, headers=admin)
        assert response.status_code == 422, (field, value, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [f"body.{field}"]
    assert await stored_measurements(client, school, admin) == []


async def test_empty_uuids_get_an_id_from_the_measurements_content(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    first = agent_measurement(school["giga_id"], test_id="")
    second = agent_measurement(school["giga_id"], test_id="")
    second["Download"] = 15000.0
    answers = [
        (await client.post(PUSH, json=body, headers=admin)).status_code
        for body in (first, second, first, second)
    ]
    assert answers == [201, 201, 200, 200]
    stored = await stored_measurements(client, school, admin)
    assert sorted(m["download_mbps"] for m in stored) == [15.0, 23.4567]


async def test_a_uuid_that_is_not_rfc_4122_is_stored_once(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    payload = agent_measurement(school["giga_id"], test_id="legacy-id-1234")
    first = await client.post(PUSH, json=payload, headers=admin)
    again = await client.post(PUSH, json=payload, headers=admin)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["data"]["status"] == "duplicate"
    assert len(await stored_measurements(client, school, admin)) == 1


async def test_an_empty_country_code_is_stored_and_not_flagged(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    payload = agent_measurement(school["giga_id"], country_code="")
    response = await client.post(PUSH, json=payload, headers=admin)
    assert response.status_code == 201, response.text
    flags = (await client.get(FLAGS, params={"limit": 200}, headers=admin)).json()["items"]
    assert payload["UUID"] not in {f["measurement_uuid"] for f in flags}


async def test_the_country_of_the_agents_ip_is_stored_for_the_school_and_flagged(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], auth_headers: TokenFactory
) -> None:
    # A Rwandan school behind a Kenyan satellite link: v1.0.10 sends KE.
    school = await make_school("RWA")
    payload = agent_measurement(school["giga_id"], country_code="KE")
    for expected in (201, 200):  # and a re-send
        response = await client.post(PUSH, json=payload, headers=admin)
        assert response.status_code == expected, response.text
    [stored] = await stored_measurements(client, school, admin)
    assert stored["uuid"] == payload["UUID"]
    rwanda = auth_headers("schools:read", countries=["RWA"])
    flags = (await client.get(FLAGS, params={"kind": "country_mismatch"}, headers=rwanda)).json()
    [flag] = [f for f in flags["items"] if f["measurement_uuid"] == payload["UUID"]]
    assert (flag["school_id"], flag["country_iso3"]) == (school["id"], "RWA")
    assert "KE (KEN)" in flag["detail"]
    kenya = auth_headers("schools:read", countries=["KEN"])
    seen_by_kenya = (await client.get(FLAGS, headers=kenya)).json()["items"]
    assert payload["UUID"] not in {f["measurement_uuid"] for f in seen_by_kenya}


async def test_an_unknown_school_gets_upstreams_400_and_one_failed_record(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    payload = agent_measurement(f"no-such-school-{uuid.uuid4().hex[:6]}")
    for _ in range(2):  # and the agent's retry
        response = await client.post(PUSH, json=payload, headers=admin)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "PCDC school does not exist" in response.json()["detail"]
        assert [e["field"] for e in response.json()["errors"]] == ["body.giga_id_school"]
    [record] = await failed_records(client, admin, payload["UUID"])
    assert (record["reason"], record["giga_id_school"]) == (
        "unknown_school",
        payload["giga_id_school"],
    )


async def test_another_countrys_school_is_answered_like_an_unknown_one_and_files_nothing_there(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], auth_headers: TokenFactory
) -> None:
    rwandan = await make_school("RWA")
    mauritania = auth_headers("measurements:write", countries=["MRT"])
    foreign = agent_measurement(rwandan["giga_id"], country_code="RW")
    unknown = agent_measurement(f"no-such-{uuid.uuid4().hex[:6]}", country_code="RW")
    answers = [await client.post(PUSH, json=p, headers=mauritania) for p in (foreign, unknown)]
    assert [a.status_code for a in answers] == [400, 400]
    bodies = [a.json() for a in answers]
    for body in bodies:
        del body["instance"], body["request_id"], body["errors"][0]["message"]
    assert bodies[0] == bodies[1]
    assert "RWA" not in answers[0].text
    assert rwandan["id"] not in answers[0].text
    assert await stored_measurements(client, rwandan, admin) == []
    rwanda_readers = auth_headers("schools:read", countries=["RWA"])
    assert await failed_records(client, rwanda_readers, foreign["UUID"]) == []
    [record] = await failed_records(client, admin, foreign["UUID"])  # staff see it
    assert record["country_code"] == "RW"


async def test_a_device_naming_another_school_is_answered_like_an_unknown_school(
    client: httpx.AsyncClient, make_school: Any, device_headers: Any, admin: dict[str, str]
) -> None:
    own, other = await make_school("RWA"), await make_school("RWA")
    device = await device_headers(own["id"])
    response = await client.post(PUSH, json=agent_measurement(other["giga_id"]), headers=device)
    assert response.status_code == 400, response.text
    assert other["id"] not in response.text
    assert await stored_measurements(client, other, admin) == []


async def test_a_deployment_key_pushes_for_registered_devices_only(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    key, agent = await key_and_registered_device(client, admin, school)
    unregistered = agent_measurement(school["giga_id"])  # a BrowserID no device has
    response = await client.post(PUSH, json=unregistered, headers=key)
    assert response.status_code == 400, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["body.BrowserID"]
    registered = agent_measurement(school["giga_id"]) | {"BrowserID": agent["id"]}
    response = await client.post(PUSH, json=registered, headers=key)
    assert response.status_code == 201, response.text
    assert [m["uuid"] for m in await stored_measurements(client, school, admin)] == [
        registered["UUID"]
    ]
    seen = (await client.get(f"/v1/agents/{agent['id']}", headers=admin)).json()
    assert seen["last_seen_at"] is not None


async def test_the_key_query_parameter_of_old_builds_is_ignored(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    payload = agent_measurement(school["giga_id"])
    response = await client.post(f"{PUSH}?key=upload-api-key", json=payload, headers=admin)
    assert response.status_code == 201, response.text


async def test_bad_payloads_name_the_agents_field_and_store_nothing(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    missing = agent_measurement(school["giga_id"])
    del missing["Download"]
    implausible = agent_measurement(school["giga_id"]) | {"Upload": 500_000_000}  # 500 Gbit/s
    old = (datetime.now(UTC) - timedelta(days=90)).isoformat()
    too_old = agent_measurement(school["giga_id"]) | {"Timestamp": old}
    for payload, field in ((missing, "Download"), (implausible, "Upload"), (too_old, "Timestamp")):
        response = await client.post(PUSH, json=payload, headers=admin)
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == [f"body.{field}"]
    for body in (b"[1, 2]", b"not json", b'{"Latency": NaN}'):
        refused = await client.post(PUSH, content=body, headers=admin)
        assert refused.status_code == 422, (body, refused.text)
        assert [e["field"] for e in refused.json()["errors"]] == ["body"]
    assert await stored_measurements(client, school, admin) == []


async def test_a_nul_character_is_refused_naming_the_field(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    for field in ("giga_id_school", "BrowserID", "school_id"):
        payload = agent_measurement(school["giga_id"]) | {field: "a\x00b"}
        response = await client.post(PUSH, json=payload, headers=admin)
        assert response.status_code == 422, (field, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [f"body.{field}"]
    assert await stored_measurements(client, school, admin) == []


async def test_a_refused_push_is_counted_as_rejected(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")

    def rejected() -> float:
        value = REGISTRY.get_sample_value(
            "c2r_school_monitor_measurements_rejected_total",
            {"kind": "measurement", "reason": "invalid", "source": "other"},
        )
        return value or 0.0

    before = rejected()
    payload = agent_measurement(school["giga_id"]) | {"Download": True}
    assert (await client.post(PUSH, json=payload, headers=admin)).status_code == 422
    assert rejected() == before + 1
