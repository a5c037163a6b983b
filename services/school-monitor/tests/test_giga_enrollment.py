"""The Giga Meter agent's enrollment calls, with the bodies its services build (v1.0.10's
confirm-school page, v2's hardware-id checks) and asserting the fields its code reads.

Each call is made with a deployment key, as the agent makes it; answers for an id of
another country are compared with the answers for an unknown id.
"""

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from school_monitor.agents.models import Agent
from school_monitor.gigameter.examples import agent_measurement

API = "/api/v1/"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def deployment_key(client: httpx.AsyncClient, admin: dict[str, str]) -> Any:
    async def make(*countries: str) -> dict[str, str]:
        body = {"name": "Giga Meter build", "countries": list(countries or ["RWA"])}
        response = await client.post("/v1/agents/deployment-keys", json=body, headers=admin)
        assert response.status_code == 201, response.text
        return bearer(response.json()["key"])

    return make


@pytest.fixture
def giga_school(make_school: Any) -> Any:
    async def make(country: str = "RWA", **fields: Any) -> dict[str, Any]:
        defaults = {
            "giga_id": str(uuid.uuid4()),
            "government_id": f"RW-{uuid.uuid4().hex[:6].upper()}",
            "name": "GS Kigeme",
            "admin1": "Southern Province",
            "admin2": "Nyamagabe",
        }
        return dict(await make_school(country, **(defaults | fields)))

    return make


def registration_v1(school: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """confirmschool.page.ts of v1.0.10: Device.getId().uuid as mac_address."""
    body = {
        "giga_id_school": school["giga_id"],
        "mac_address": str(uuid.uuid4()),
        "os": "windows",
        "app_version": "1.0.10",
        "created": "2026-12-0210:15:00+02:00",
        "ip_address": "197.243.16.20",
        "country_code": "RW",
    }
    return body | fields


def registration_v2(school: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """v2's confirm-school page adds the machine's hardware id and what Electron tells."""
    body = registration_v1(school, app_version="2.0.2") | {
        "device_hardware_id": f"4C4C4544-{uuid.uuid4().hex[:4].upper()}-8050-B4C0-C4C04F4E3332",
        "windows_username": "lab-pc",
        "installed_path": "C:\\Program Files\\Giga Meter",
        "wifi_connections": [{"ssid": "school", "bssid": "aa:bb:cc:dd:ee:ff"}],
        "geolocation": {"location": {"lat": -2.47, "lng": 29.55}, "accuracy": 30},
    }
    return body | fields


async def register(
    client: httpx.AsyncClient, key: dict[str, str], body: dict[str, Any]
) -> httpx.Response:
    return await client.post(API + "dailycheckapp_schools", json=body, headers=key)


async def agent_count(app: FastAPI, school_id: str) -> int:
    async with app.state.database.sessionmaker() as session:
        statement = select(func.count()).where(Agent.school_id == uuid.UUID(school_id))
        return int(await session.scalar(statement) or 0)


# Country check (searchcountry.page.ts: `response.data`, proceeds when non-empty)


async def test_country_check_answers_a_country_with_schools(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    await giga_school()
    key = await deployment_key()
    for code in ("RW", "rw"):
        response = await client.get(API + f"dailycheckapp_countries/{code}", headers=key)
        assert response.status_code == 200
        body = response.json()
        assert body["success"] is True
        [country] = body["data"]
        assert country["code"] == "RW"
        assert country["code_iso3"] == "RWA"
        assert country["name"] == "Rwanda"


async def test_country_check_tells_nothing_of_other_countries(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    await giga_school("KEN", government_id="KE-1")
    key = await deployment_key("RWA")
    foreign = await client.get(API + "dailycheckapp_countries/KE", headers=key)
    unknown = await client.get(API + "dailycheckapp_countries/ZZ", headers=key)
    assert foreign.status_code == unknown.status_code == 200
    assert foreign.json()["data"] == unknown.json()["data"] == []


async def test_country_check_needs_a_credential(client: httpx.AsyncClient) -> None:
    response = await client.get(API + "dailycheckapp_countries/RW")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_country_check_takes_a_schools_read_token(
    client: httpx.AsyncClient, auth_headers: Any, giga_school: Any
) -> None:
    await giga_school()
    reader = auth_headers("schools:read", countries=["RWA"])
    response = await client.get(API + "dailycheckapp_countries/RW", headers=reader)
    assert len(response.json()["data"]) == 1
    writer = auth_headers("schools:write")
    assert (await client.get(API + "dailycheckapp_countries/RW", headers=writer)).status_code == 403


# School search (searchschool / schooldetails pages: school_id, name, admin names, ...)


async def test_school_search_by_government_id_shows_what_the_app_reads(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school(government_id="RW-100234")
    key = await deployment_key()
    path = API + "schools/country_code_school_id/RW/rw-100234"
    response = await client.get(path, headers=key)
    assert response.status_code == 200
    [found] = response.json()["data"]
    assert found["school_id"] == "RW-100234"
    assert found["name"] == "GS Kigeme"
    assert found["giga_id_school"] == school["giga_id"]
    assert found["country"] == "RW"
    assert found["admin_1_name"] == "Southern Province"
    assert found["admin_2_name"] == "Nyamagabe"
    assert "postal_code" in found


async def test_school_search_of_another_country_is_like_an_unknown_id(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    await giga_school("KEN", government_id="KE-777")
    key = await deployment_key("RWA")
    foreign = await client.get(API + "schools/country_code_school_id/KE/KE-777", headers=key)
    unknown = await client.get(API + "schools/country_code_school_id/RW/KE-777", headers=key)
    assert foreign.status_code == unknown.status_code == 200
    assert foreign.json()["data"] == unknown.json()["data"] == []


# Device registration (school.service.ts: `response.data.user_id`)


async def test_registration_binds_an_agent_to_the_school_once(
    app: FastAPI, client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school()
    key = await deployment_key()
    body = registration_v1(school)
    first = await register(client, key, body)
    assert first.status_code == 201, first.text
    user_id = first.json()["data"]["user_id"]
    uuid.UUID(user_id)
    again = await register(client, key, body)
    assert again.status_code == 200
    assert again.json()["data"]["user_id"] == user_id
    assert await agent_count(app, school["id"]) == 1
    async with app.state.database.sessionmaker() as session:
        agent = await session.get(Agent, uuid.UUID(user_id))
    assert agent is not None
    assert agent.hardware_id == body["mac_address"]
    assert agent.deployment_key_id is not None
    assert agent.app_version == "1.0.10"


async def test_an_operator_sees_the_agent_a_key_registered(
    client: httpx.AsyncClient, admin: dict[str, str], deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school()
    user_id = (await register(client, await deployment_key(), registration_v1(school))).json()
    listed = await client.get("/v1/agents", params={"school_id": school["id"]}, headers=admin)
    [agent] = listed.json()["items"]
    assert agent["id"] == user_id["data"]["user_id"]
    assert agent["deployment_key_id"] is not None
    assert agent["os"] == "windows"


async def test_v2_registration_uses_the_machine_hardware_id(
    app: FastAPI, client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school()
    body = registration_v2(school)
    response = await register(client, await deployment_key(), body)
    assert response.status_code == 201, response.text
    async with app.state.database.sessionmaker() as session:
        agent = await session.get(Agent, uuid.UUID(response.json()["data"]["user_id"]))
    assert agent is not None
    assert agent.hardware_id == body["device_hardware_id"]
    assert agent.mac_address == body["mac_address"]


async def test_registration_refuses_generic_hardware_ids(
    app: FastAPI, client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school()
    key = await deployment_key()
    generic = registration_v2(school, device_hardware_id="03000200-0400-0500-0006-000700080009")
    response = await register(client, key, generic)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.device_hardware_id"
    blank = registration_v1(school, mac_address="NO_UUID_AVAILABLE")
    response = await register(client, key, blank)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.mac_address"
    missing = registration_v1(school, mac_address=None)
    assert (await register(client, key, missing)).status_code == 422
    assert await agent_count(app, school["id"]) == 0


async def test_registration_for_a_foreign_school_is_like_an_unknown_one(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    kenyan = await giga_school("KEN")
    key = await deployment_key("RWA")
    foreign = await register(client, key, registration_v1(kenyan))
    unknown = await register(client, key, registration_v1({"giga_id": kenyan["giga_id"][::-1]}))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["title"] == unknown.json()["title"]
    assert "KEN" not in foreign.text


async def test_registration_needs_a_key_or_the_agents_scope(
    client: httpx.AsyncClient, auth_headers: Any, giga_school: Any
) -> None:
    school = await giga_school()
    reader = auth_headers("schools:read")
    assert (await register(client, reader, registration_v1(school))).status_code == 403
    registrar = auth_headers("agents:write", countries=["RWA"])
    assert (await register(client, registrar, registration_v1(school))).status_code == 201


# Start-up re-check (home.utils.ts: an empty list wipes the app's storage)


async def test_a_registered_device_finds_its_record_at_start_up(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school()
    key = await deployment_key()
    body = registration_v1(school)
    user_id = (await register(client, key, body)).json()["data"]["user_id"]
    for giga_id in (school["giga_id"], school["giga_id"].upper()):
        response = await client.get(API + f"dailycheckapp_schools/{giga_id}", headers=key)
        assert response.status_code == 200
        [device] = response.json()["data"]
        assert device["user_id"] == user_id
        assert device["giga_id_school"] == school["giga_id"]
        assert device["mac_address"] == body["mac_address"]
        assert device["country_code"] == "RW"
        assert device["is_active"] is True


async def test_start_up_check_of_a_foreign_school_is_like_an_unknown_one(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    kenyan = await giga_school("KEN")
    await register(client, await deployment_key("KEN"), registration_v1(kenyan))
    key = await deployment_key("RWA")
    foreign = await client.get(API + f"dailycheckapp_schools/{kenyan['giga_id']}", headers=key)
    unknown = await client.get(API + f"dailycheckapp_schools/{uuid.uuid4()}", headers=key)
    assert foreign.status_code == unknown.status_code == 200
    assert foreign.json()["data"] == unknown.json()["data"] == []


# Data fix: deprecated upstream, answered as upstream does (a non-2xx stalls the start-up)


async def test_data_fix_always_answers_an_empty_list(
    client: httpx.AsyncClient, deployment_key: Any
) -> None:
    key = await deployment_key()
    for path in ("dailycheckapp_data_fix", f"dailycheckapp_data_fix/{uuid.uuid4()}"):
        response = await client.get(API + path, headers=key)
        assert response.status_code == 200
        assert response.json()["success"] is True
        assert response.json()["data"] == []


# Feature flags, both forms the app uses


async def test_v1_flags_by_installation_id(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school()
    key = await deployment_key()
    body = registration_v1(school)
    await register(client, key, body)
    path = API + "dailycheckapp_schools/features_flags"
    known = await client.get(path, params={"mac_address": body["mac_address"]}, headers=key)
    assert known.status_code == 200
    assert known.json()["data"]["pingService"] is True
    unknown = await client.get(path, params={"mac_address": "not-registered"}, headers=key)
    assert unknown.status_code == 200
    assert unknown.json()["data"] == []


async def test_v2_flags_by_giga_id(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school()
    kenyan = await giga_school("KEN")
    key = await deployment_key()
    response = await client.get(API + f"schools/features_flags/{school['giga_id']}", headers=key)
    assert response.status_code == 200
    assert response.json()["data"]["pingService"] is True
    foreign = await client.get(API + f"schools/features_flags/{kenyan['giga_id']}", headers=key)
    unknown = await client.get(API + f"schools/features_flags/{uuid.uuid4()}", headers=key)
    assert foreign.status_code == unknown.status_code == 404


# v2: installation by hardware id, device status, deactivation


async def test_existing_installation_is_found_by_hardware_id(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school(government_id="RW-5551")
    key = await deployment_key()
    body = registration_v2(school)
    user_id = (await register(client, key, body)).json()["data"]["user_id"]
    path = API + f"dailycheckapp_schools/checkExistingInstallation/{body['device_hardware_id']}"
    response = await client.get(path, headers=key)
    assert response.status_code == 200
    found = response.json()["data"]
    assert found["exists"] is True
    assert found["user_id"] == user_id
    assert found["school_id"] == "RW-5551"
    assert found["giga_id_school"] == school["giga_id"]
    assert found["mac_address"] == body["mac_address"]
    assert found["os"] == "windows"
    assert found["country_code"] == "RW"
    assert found["schoolInfo"]["giga_id_school"] == school["giga_id"]
    other_country = await client.get(path, headers=await deployment_key("KEN"))
    assert other_country.json()["data"] == {"exists": False} | dict.fromkeys(
        found.keys() - {"exists"}
    )


async def test_no_installation_for_unknown_or_generic_hardware_ids(
    client: httpx.AsyncClient, deployment_key: Any
) -> None:
    key = await deployment_key()
    for hardware_id in ("unknown-machine-1", "03000200-0400-0500-0006-000700080009"):
        path = API + f"dailycheckapp_schools/checkExistingInstallation/{hardware_id}"
        response = await client.get(path, headers=key)
        assert response.status_code == 200
        assert response.json()["data"]["exists"] is False


async def test_device_status_follows_deactivation(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school()
    key = await deployment_key()
    body = registration_v2(school)
    await register(client, key, body)
    hardware_id = body["device_hardware_id"]
    status_path = API + f"dailycheckapp_schools/checkDeviceStatus/{hardware_id}/{school['giga_id']}"
    active = (await client.get(status_path, headers=key)).json()["data"]
    assert active == {"is_active": True, "message": "Device is active", "exists": True}
    deactivate = {"device_hardware_id": hardware_id, "giga_id_school": school["giga_id"]}
    done = await client.put(API + "dailycheckapp_schools/deactivate", json=deactivate, headers=key)
    assert done.status_code == 200
    assert done.json()["data"]["deactivated"] is True
    again = await client.put(API + "dailycheckapp_schools/deactivate", json=deactivate, headers=key)
    assert again.json()["data"]["deactivated"] is False
    inactive = (await client.get(status_path, headers=key)).json()["data"]
    assert inactive["exists"] is True
    assert inactive["is_active"] is False
    start_up = await client.get(API + f"dailycheckapp_schools/{school['giga_id']}", headers=key)
    assert start_up.json()["data"] == []
    reregistered = await register(client, key, body)
    assert reregistered.status_code == 201


async def test_device_status_of_unknown_devices_is_active_as_upstream(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    kenyan = await giga_school("KEN")
    body = registration_v2(kenyan)
    await register(client, await deployment_key("KEN"), body)
    key = await deployment_key("RWA")
    hardware_id = body["device_hardware_id"]
    foreign = await client.get(
        API + f"dailycheckapp_schools/checkDeviceStatus/{hardware_id}/{kenyan['giga_id']}",
        headers=key,
    )
    unknown = await client.get(
        API + f"dailycheckapp_schools/checkDeviceStatus/{hardware_id}/{uuid.uuid4()}",
        headers=key,
    )
    assert foreign.json()["data"] == unknown.json()["data"]
    assert foreign.json()["data"] == {
        "is_active": True,
        "message": "Device not found",
        "exists": False,
    }


async def test_a_foreign_device_cannot_be_deactivated(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    kenyan = await giga_school("KEN")
    kenyan_key = await deployment_key("KEN")
    body = registration_v2(kenyan)
    await register(client, kenyan_key, body)
    deactivate = {
        "device_hardware_id": body["device_hardware_id"],
        "giga_id_school": kenyan["giga_id"],
    }
    path = API + "dailycheckapp_schools/deactivate"
    refused = await client.put(path, json=deactivate, headers=await deployment_key("RWA"))
    assert refused.json()["data"]["deactivated"] is False
    still = await client.get(API + f"dailycheckapp_schools/{kenyan['giga_id']}", headers=kenyan_key)
    assert len(still.json()["data"]) == 1


# Flagged school (confirmschool.page.ts: when the selected country is not the detected one)


async def test_a_flagged_school_is_recorded_once_and_listed_for_its_country(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school(government_id="RW-9")
    key = await deployment_key()
    body = {
        "detected_country": "KE",
        "selected_country": "RW",
        "school_id": "RW-9",
        "created": "2026-12-0210:15:00+02:00",
        "giga_id_school": school["giga_id"],
    }
    first = await client.post(API + "flagged_dailycheckapp_schools", json=body, headers=key)
    assert first.status_code == 201, first.text
    flag_id = first.json()["data"]["id"]
    again = await client.post(API + "flagged_dailycheckapp_schools", json=body, headers=key)
    assert again.json()["data"]["id"] == flag_id
    listed = (await client.get(API + "flagged_dailycheckapp_schools", headers=key)).json()["data"]
    assert [flag["id"] for flag in listed] == [flag_id]
    assert listed[0]["detected_country"] == "KE"
    assert listed[0]["giga_id_school"] == school["giga_id"]
    elsewhere = await client.get(
        API + "flagged_dailycheckapp_schools", headers=await deployment_key("KEN")
    )
    assert elsewhere.json()["data"] == []


# Network look-ups: answered from what the server knows, calling nothing outside


async def test_ip_metadata_names_the_country_of_the_key(
    client: httpx.AsyncClient, deployment_key: Any, auth_headers: Any
) -> None:
    response = await client.get(API + "ip-metadata/197.243.16.20", headers=await deployment_key())
    assert response.status_code == 200
    body = response.json()
    assert body["ip"] == "197.243.16.20"
    assert body["country"] == "RW"
    # network.service.ts calls .match on org when asn is empty: it must be a string.
    assert isinstance(body["org"], str)
    assert isinstance(body["asn"], str)
    staff = await client.get(
        API + "ip-metadata/197.243.16.20", headers=auth_headers("schools:read")
    )
    assert staff.json()["country"] == ""
    own = await client.get(
        API + "ip-metadata", headers=await deployment_key() | {"X-Forwarded-For": "41.186.0.9"}
    )
    assert own.json()["ip"] == "41.186.0.9"


async def test_geolocation_answers_that_no_location_is_known(
    client: httpx.AsyncClient, deployment_key: Any
) -> None:
    body = {
        "considerIp": False,
        "wifiAccessPoints": [{"macAddress": "aa:bb:cc:dd:ee:ff", "signalStrength": -60}],
    }
    response = await client.post(
        API + "geolocation/geolocate", json=body, headers=await deployment_key()
    )
    assert response.status_code == 201
    assert response.json() == {"location": None, "accuracy": None}


# Every enrollment call wants a credential: a deployment key, or the scope the call needs

ENROLLMENT_CALLS = [
    ("GET", "dailycheckapp_countries/RW", None),
    ("GET", "schools/country_code_school_id/RW/RW-1", None),
    ("GET", "schools/features_flags/g-1", None),
    ("GET", "dailycheckapp_schools/features_flags?mac_address=m", None),
    ("GET", "dailycheckapp_schools/checkExistingInstallation/hw-1", None),
    ("GET", "dailycheckapp_schools/checkDeviceStatus/hw-1/g-1", None),
    ("GET", "dailycheckapp_schools/g-1", None),
    ("GET", "flagged_dailycheckapp_schools", None),
    ("GET", "dailycheckapp_data_fix", None),
    ("GET", "dailycheckapp_data_fix/g-1", None),
    ("GET", "ip-metadata", None),
    ("GET", "ip-metadata/197.243.16.20", None),
    ("POST", "geolocation/geolocate", {"considerIp": False, "wifiAccessPoints": []}),
    ("POST", "dailycheckapp_schools", {"giga_id_school": "g-1", "mac_address": "m-1"}),
    ("POST", "flagged_dailycheckapp_schools", {"giga_id_school": "g-1"}),
    ("PUT", "dailycheckapp_schools/deactivate", {"device_hardware_id": "h", "giga_id_school": "g"}),
    ("POST", "dailycheckapp_schools/check-device-school-status", {"external_id": "RW-1"}),
    ("GET", "protocol-config/resolve", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENROLLMENT_CALLS)
async def test_each_call_needs_a_credential_with_the_right_scope(
    client: httpx.AsyncClient, auth_headers: Any, method: str, path: str, body: Any
) -> None:
    anonymous = await client.request(method, API + path, json=body)
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    unrelated = await client.request(
        method, API + path, json=body, headers=auth_headers("assessments:read")
    )
    assert unrelated.status_code == 403


# v2's kill switch (kill-switch.service.ts: `data.isActive !== true`, or an error, wipes the app)

KILL_SWITCH = API + "dailycheckapp_schools/check-device-school-status"


async def test_kill_switch_keeps_a_registered_device_alive(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school(government_id="RW-4242")
    key = await deployment_key()
    body = registration_v2(school)
    await register(client, key, body)
    asked = {"device_hardware_id": body["device_hardware_id"], "external_id": "rw-4242"}
    response = await client.post(KILL_SWITCH, json=asked, headers=key)
    assert response.status_code == 201
    assert response.json()["success"] is True
    assert response.json()["data"]["isActive"] is True
    assert response.json()["data"]["school"]["giga_id_school"] == school["giga_id"]
    by_giga_id = {
        "device_hardware_id": body["device_hardware_id"],
        "giga_id_school": school["giga_id"],
    }
    assert (await client.post(KILL_SWITCH, json=by_giga_id, headers=key)).json()["data"]["isActive"]


async def test_kill_switch_for_a_device_gone_or_a_foreign_school(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school(government_id="RW-4343")
    kenyan = await giga_school("KEN", government_id="KE-4343")
    key = await deployment_key()
    body = registration_v2(school)
    await register(client, key, body)
    deactivate = {
        "device_hardware_id": body["device_hardware_id"],
        "giga_id_school": school["giga_id"],
    }
    await client.put(API + "dailycheckapp_schools/deactivate", json=deactivate, headers=key)
    gone = await client.post(
        KILL_SWITCH,
        json={"device_hardware_id": body["device_hardware_id"], "external_id": "RW-4343"},
        headers=key,
    )
    assert gone.json()["data"] == {
        "isActive": False,
        "message": "Device not found",
        "school": None,
        "devices": [],
    }
    foreign = await client.post(
        KILL_SWITCH, json={"external_id": kenyan["government_id"]}, headers=key
    )
    unknown = await client.post(KILL_SWITCH, json={"external_id": "RW-NONE"}, headers=key)
    assert foreign.json()["data"] == unknown.json()["data"]
    assert foreign.json()["data"]["isActive"] is False


async def test_protocol_config_is_m_labs_ndt7(
    client: httpx.AsyncClient, deployment_key: Any
) -> None:
    response = await client.get(
        API + "protocol-config/resolve",
        params={"gigaIdSchool": str(uuid.uuid4()), "countryCode": "RW"},
        headers=await deployment_key(),
    )
    assert response.status_code == 200
    assert response.json()["data"]["measurementProviders"] == ["mlab"]


async def test_a_deactivated_device_pushes_no_more_at_once(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any, admin: dict[str, str]
) -> None:
    school = await giga_school()
    key = await deployment_key()
    body = registration_v2(school)
    user_id = (await register(client, key, body)).json()["data"]["user_id"]
    first = agent_measurement(school["giga_id"]) | {"BrowserID": user_id}
    assert (await client.post(API + "measurements", json=first, headers=key)).status_code == 201
    deactivate = {
        "device_hardware_id": body["device_hardware_id"],
        "giga_id_school": school["giga_id"],
    }
    await client.put(API + "dailycheckapp_schools/deactivate", json=deactivate, headers=key)
    second = agent_measurement(school["giga_id"]) | {"BrowserID": user_id}
    refused = await client.post(API + "measurements", json=second, headers=key)
    assert refused.status_code == 400
    listed = await client.get(f"/v1/schools/{school['id']}/measurements", headers=admin)
    assert [m["uuid"] for m in listed.json()["items"]] == [first["UUID"]]


async def test_an_agent_revoked_by_an_operator_pushes_no_more_at_once(
    client: httpx.AsyncClient, deployment_key: Any, giga_school: Any, admin: dict[str, str]
) -> None:
    school = await giga_school()
    key = await deployment_key()
    user_id = (await register(client, key, registration_v1(school))).json()["data"]["user_id"]
    first = agent_measurement(school["giga_id"]) | {"BrowserID": user_id}
    assert (await client.post(API + "measurements", json=first, headers=key)).status_code == 201
    assert (await client.post(f"/v1/agents/{user_id}/revoke", headers=admin)).status_code == 200
    second = agent_measurement(school["giga_id"]) | {"BrowserID": user_id}
    assert (await client.post(API + "measurements", json=second, headers=key)).status_code == 400


async def test_an_app_upgraded_to_v2_keeps_its_registration(
    app: FastAPI, client: httpx.AsyncClient, deployment_key: Any, giga_school: Any
) -> None:
    school = await giga_school()
    key = await deployment_key()
    v1 = registration_v1(school)
    user_id = (await register(client, key, v1)).json()["data"]["user_id"]
    v2 = registration_v2(school, mac_address=v1["mac_address"])
    upgraded = await register(client, key, v2)
    assert upgraded.status_code == 200
    assert upgraded.json()["data"]["user_id"] == user_id
    assert await agent_count(app, school["id"]) == 1
    path = API + f"dailycheckapp_schools/checkExistingInstallation/{v2['device_hardware_id']}"
    assert (await client.get(path, headers=key)).json()["data"]["user_id"] == user_id
