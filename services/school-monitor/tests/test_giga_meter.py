"""The Giga Meter-compatible endpoint: its payload, units and failure records."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx


def giga_payload(giga_id: str, **fields: Any) -> dict[str, Any]:
    """A payload shaped like the ones the Giga Meter app sends."""
    payload: dict[str, Any] = {
        "Timestamp": (datetime.now(UTC) - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "UUID": str(uuid.uuid4()),
        "BrowserID": str(uuid.uuid4()),
        "DeviceType": "windows",
        "Notes": "",
        "Download": 23456.7,
        "Upload": 8123.4,
        "Latency": 41,
        "DataDownloaded": 30512344,
        "DataUploaded": 10244352,
        "DataUsage": 40756696,
        "Results": {
            "NDTResult.S2C": {"LastServerMeasurement": {"TCPInfo": {"MinRTT": 41000}}},
            "NDTResult.C2S": {"LastServerMeasurement": {"TCPInfo": {"MinRTT": 43000}}},
        },
        "ClientInfo": {"IP": "197.243.0.1", "ASN": "AS36924", "ISP": "MTN", "Country": "RW"},
        "ServerInfo": {"FQDN": "ndt-mlab1-nbo01.mlab-oti.measurement-lab.org", "City": "Nairobi"},
        "annotation": "",
        "school_id": "RW-100234",
        "giga_id_school": giga_id,
        "country_code": "RW",
        "ip_address": "197.243.0.1",
        "app_version": "4.1.2",
        "source": "DailyCheckApp",
    }
    return payload | fields


async def test_giga_meter_payload_is_stored_with_correct_units(
    client: httpx.AsyncClient, make_school: Any, device_headers: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    device = await device_headers(school["id"])
    payload = giga_payload(school["giga_id"])
    response = await client.post("/api/v1/measurements", json=payload, headers=device)
    assert response.status_code == 201, response.text
    assert response.json()["success"] is True
    assert response.json()["data"]["status"] == "stored"
    listed = await client.get(f"/v1/schools/{school['id']}/measurements", headers=admin)
    [stored] = listed.json()["items"]
    assert stored["uuid"] == payload["UUID"]
    assert stored["download_mbps"] == 23.4567
    assert stored["upload_mbps"] == 8.1234
    assert stored["latency_ms"] == 41.0
    assert stored["source"] == "DailyCheckApp"
    assert stored["server"] == "ndt-mlab1-nbo01.mlab-oti.measurement-lab.org"
    status = (await client.get(f"/v1/schools/{school['id']}/status", headers=admin)).json()
    assert status["connectivity_status"] == "good"


async def test_giga_meter_retry_is_not_stored_twice(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    payload = giga_payload(school["giga_id"], UUID="legacy-id-1234")  # not an RFC 4122 UUID
    first = await client.post("/api/v1/measurements", json=payload, headers=admin)
    again = await client.post("/api/v1/measurements", json=payload, headers=admin)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["data"]["status"] == "duplicate"
    listed = await client.get(f"/v1/schools/{school['id']}/measurements", headers=admin)
    assert len(listed.json()["items"]) == 1


async def test_unknown_school_is_recorded_as_failed_and_listable(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    payload = giga_payload(f"no-such-school-{uuid.uuid4().hex[:6]}")
    response = await client.post("/api/v1/measurements", json=payload, headers=admin)
    assert response.json()["success"] is False
    assert response.json()["data"]["reason"] == "unknown_school"
    await client.post("/api/v1/measurements", json=payload, headers=admin)  # a retry
    failed = await client.get(
        "/v1/measurements/failed", params={"reason": "unknown_school"}, headers=admin
    )
    mine = [f for f in failed.json()["items"] if f["client_uuid"] == payload["UUID"]]
    assert len(mine) == 1
    assert mine[0]["giga_id_school"] == payload["giga_id_school"]


async def test_country_mismatch_is_recorded_as_failed(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    payload = giga_payload(school["giga_id"], country_code="KE")
    response = await client.post("/api/v1/measurements", json=payload, headers=admin)
    assert response.json()["data"]["reason"] == "country_mismatch"
    listed = await client.get(f"/v1/schools/{school['id']}/measurements", headers=admin)
    assert listed.json()["items"] == []
    failed = await client.get(
        "/v1/measurements/failed", params={"reason": "country_mismatch"}, headers=admin
    )
    assert payload["UUID"] in {f["client_uuid"] for f in failed.json()["items"]}


async def test_device_pushing_giga_meter_payload_for_another_school_is_refused(
    client: httpx.AsyncClient, make_school: Any, device_headers: Any
) -> None:
    own, other = await make_school("RWA"), await make_school("RWA")
    device = await device_headers(own["id"])
    response = await client.post(
        "/api/v1/measurements", json=giga_payload(other["giga_id"]), headers=device
    )
    assert response.status_code == 403


async def test_bad_giga_meter_payload_names_the_giga_field(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school("RWA")
    missing = giga_payload(school["giga_id"])
    del missing["Download"]
    response = await client.post("/api/v1/measurements", json=missing, headers=admin)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["body.Download"]
    implausible = giga_payload(school["giga_id"], Upload=500_000_000)  # 500 Gbit/s
    response = await client.post("/api/v1/measurements", json=implausible, headers=admin)
    assert [e["field"] for e in response.json()["errors"]] == ["body.Upload"]
    old = (datetime.now(UTC) - timedelta(days=90)).isoformat()
    response = await client.post(
        "/api/v1/measurements", json=giga_payload(school["giga_id"], Timestamp=old), headers=admin
    )
    assert [e["field"] for e in response.json()["errors"]] == ["body.Timestamp"]
