"""Status per school from recent data, alerts on change, the offline sweep."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from school_monitor.background import run_once
from school_monitor.schools.models import School


async def push(client: httpx.AsyncClient, headers: dict[str, str], item: dict[str, Any]) -> None:
    response = await client.post("/v1/measurements", json=item, headers=headers)
    assert response.status_code == 201, response.text


async def status_of(client: httpx.AsyncClient, headers: dict[str, str], school_id: str) -> Any:
    return (await client.get(f"/v1/schools/{school_id}/status", headers=headers)).json()


async def alerts_of(client: httpx.AsyncClient, headers: dict[str, str], school_id: str) -> Any:
    response = await client.get("/v1/alerts", params={"school_id": school_id}, headers=headers)
    return [(a["kind"], a["previous"], a["current"]) for a in response.json()["items"]]


async def test_school_without_data_is_unknown_and_offline(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school()
    status = await status_of(client, admin, school["id"])
    assert (status["connectivity_status"], status["is_online"]) == ("unknown", False)
    assert status["uptime_pct_today"] is None


async def test_status_follows_the_latest_measurement_and_changes_raise_alerts(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], measurement: Any
) -> None:
    school = await make_school()
    now = datetime.now(UTC)

    def at(minutes_ago: int, mbps: float) -> dict[str, Any]:
        taken = (now - timedelta(minutes=minutes_ago)).isoformat()
        return measurement(school["id"], measured_at=taken, download_mbps=mbps)

    await push(client, admin, at(30, 25.0))
    assert (await status_of(client, admin, school["id"]))["connectivity_status"] == "good"
    await push(client, admin, at(20, 5.0))
    status = await status_of(client, admin, school["id"])
    assert (status["connectivity_status"], status["latest_download_mbps"]) == ("moderate", 5.0)
    await push(client, admin, at(60, 50.0))  # uploaded late: older than the latest
    assert (await status_of(client, admin, school["id"]))["connectivity_status"] == "moderate"
    await push(client, admin, at(10, 0.5))
    assert (await status_of(client, admin, school["id"]))["connectivity_status"] == "bad"
    await push(client, admin, at(5, 30.0))
    assert await alerts_of(client, admin, school["id"]) == [
        ("fell_below_benchmark", "good", "moderate"),
        ("recovered", "bad", "good"),
    ]


async def test_country_benchmark_replaces_the_global_one(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], measurement: Any
) -> None:
    kenya, rwanda = await make_school("KEN"), await make_school("RWA")
    await push(client, admin, measurement(kenya["id"], download_mbps=15.0))
    await push(client, admin, measurement(rwanda["id"], download_mbps=15.0))
    kenya_status = await status_of(client, admin, kenya["id"])
    assert (kenya_status["connectivity_status"], kenya_status["benchmark_download_mbps"]) == (
        "good",
        10.0,
    )
    assert (await status_of(client, admin, rwanda["id"]))["connectivity_status"] == "moderate"


async def test_silent_school_goes_offline_and_recovers_with_alerts(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_school: Any,
    admin: dict[str, str],
    ping: Any,
) -> None:
    school = await make_school()
    await client.post("/v1/pings", json=ping(school["id"]), headers=admin)
    assert (await status_of(client, admin, school["id"]))["is_online"] is True
    # Let the last check fall out of the window, as if the school had been silent.
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    async with app.state.database.sessionmaker() as session:
        await session.execute(
            update(School).where(School.id == uuid.UUID(school["id"])).values(last_seen_at=long_ago)
        )
        await session.commit()
    assert await run_once(app.state.database, app.state.settings) >= 1
    assert (await status_of(client, admin, school["id"]))["is_online"] is False
    await client.post("/v1/pings", json=ping(school["id"]), headers=admin)
    assert await alerts_of(client, admin, school["id"]) == [
        ("went_offline", "online", "offline"),
        ("recovered", "offline", "online"),
    ]


async def test_failed_checks_do_not_make_a_school_online_and_count_in_uptime(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], ping: Any
) -> None:
    school = await make_school()
    items = [ping(school["id"], is_connected=False) for _ in range(3)] + [ping(school["id"])]
    await client.post("/v1/pings/batch", json={"items": items[:3]}, headers=admin)
    assert (await status_of(client, admin, school["id"]))["is_online"] is False
    await client.post("/v1/pings/batch", json={"items": items[3:]}, headers=admin)
    status = await status_of(client, admin, school["id"])
    assert (status["is_online"], status["uptime_pct_today"]) == (True, 25.0)


async def test_alerts_are_listed_only_for_the_callers_countries(
    client: httpx.AsyncClient,
    make_school: Any,
    admin: dict[str, str],
    auth_headers: Any,
    measurement: Any,
) -> None:
    school = await make_school("KEN")
    await push(client, admin, measurement(school["id"], download_mbps=25.0))
    await push(client, admin, measurement(school["id"], download_mbps=2.0))
    rwanda = auth_headers("schools:read", countries=["RWA"])
    seen_by_rwanda = (await client.get("/v1/alerts", headers=rwanda)).json()["items"]
    assert school["id"] not in {a["school_id"] for a in seen_by_rwanda}
    kenya = auth_headers("schools:read", countries=["KEN"])
    seen_by_kenya = (await client.get("/v1/alerts", headers=kenya)).json()["items"]
    assert school["id"] in {a["school_id"] for a in seen_by_kenya}
    assert (await client.get("/v1/alerts?country=KEN", headers=rwanda)).status_code == 403
