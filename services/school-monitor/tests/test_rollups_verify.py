"""verify recomputes every derived value from the raw rows; rebuild repairs them while
ingestion goes on."""

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from service_process import assert_found_alone_and_repaired, differences, execute
from sqlalchemy import delete, insert, update

from c2r_common.testing import TokenFactory
from school_monitor.integrity.figures import ABSENT, PRESENT, ROW, Difference
from school_monitor.integrity.rebuild import rebuild
from school_monitor.rollups.models import CountryDaily, CountryStats, SchoolDaily
from school_monitor.schools.models import School

NOW = datetime.now(UTC)
DAYS_AGO = [NOW - timedelta(days=n, minutes=3) for n in (0, 1, 2)]


def _measurement(school_id: str, at: datetime, download: float, **fields: Any) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "school_id": school_id,
        "measured_at": at.isoformat(),
        "download_mbps": download,
        "upload_mbps": download / 2,
        "latency_ms": 100.0 - download,
    } | fields


def _ping(school_id: str, at: datetime, connected: bool) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "school_id": school_id,
        "timestamp": at.isoformat(),
        "is_connected": connected,
        "latency_ms": 30.0,
    }


async def _school(http: httpx.AsyncClient, admin: dict[str, str], country: str) -> str:
    giga_id = f"giga-{uuid.uuid4().hex[:12]}"
    body = {"giga_id": giga_id, "name": "GS Verify", "country_iso3": country}
    response = await http.post("/v1/schools", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _post(http: httpx.AsyncClient, path: str, body: Any, admin: dict[str, str]) -> None:
    response = await http.post(path, json=body, headers=admin)
    assert response.status_code in {200, 201}, response.text


async def _ingest_everything(http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, str]:
    """Two countries, several days, batches, single pushes, pings, retries, a tie at the
    latest moment, and a school without data. Returns the schools by role."""
    schools = {
        "rwa": await _school(http, admin, "RWA"),
        "rwa_pings": await _school(http, admin, "RWA"),
        "ken": await _school(http, admin, "KEN"),
        "silent": await _school(http, admin, "KEN"),
    }
    batch = [
        _measurement(schools[role], at, download)
        for role in ("rwa", "ken")
        for at, download in zip(DAYS_AGO, (25.0, 12.5, 0.5), strict=True)
    ]
    await _post(http, "/v1/measurements/batch", {"items": batch}, admin)
    await _post(http, "/v1/measurements/batch", {"items": batch[:3]}, admin)  # a retry
    tied_at = NOW - timedelta(minutes=1)
    for download in (5.0, 30.0):  # two measurements of the same moment
        tied = _measurement(schools["rwa"], tied_at, download)
        await _post(http, "/v1/measurements", tied, admin)
    single = _measurement(schools["ken"], NOW - timedelta(days=1, minutes=1), 8.0)
    await _post(http, "/v1/measurements", single, admin)
    await _post(http, "/v1/measurements", single, admin)  # a duplicate push
    pings = [
        _ping(schools[role], at, connected)
        for role in ("rwa_pings", "ken")
        for at in DAYS_AGO
        for connected in (True, False)
    ]
    await _post(http, "/v1/pings/batch", {"items": pings}, admin)
    await _post(http, "/v1/pings", _ping(schools["rwa"], NOW - timedelta(days=2), False), admin)
    return schools


async def _verify(app: FastAPI, country: str | None = None) -> list[Difference]:
    return await differences(app, country)


TODAY = NOW.date()


def _corruptions(schools: dict[str, str]) -> list[tuple[Any, str, tuple[str, ...], str, Any]]:
    """(statement, table, key, column, the value it stores) for every kind of derived value."""
    rwa, ken = uuid.UUID(schools["rwa"]), uuid.UUID(schools["ken"])
    pinged = uuid.UUID(schools["rwa_pings"])
    day = (SchoolDaily.school_id == rwa) & (SchoolDaily.day == TODAY)
    ping_day = (SchoolDaily.school_id == pinged) & (SchoolDaily.day == TODAY)
    country_day = (CountryDaily.country_iso3 == "RWA") & (CountryDaily.day == TODAY)
    school_key = (schools["rwa"], TODAY.isoformat())
    cases: list[tuple[Any, str, tuple[str, ...], str, Any]] = []
    for column, value in (
        ("measurement_count", 7),
        ("download_sum", 1.5),
        ("upload_min", 0.01),
        ("latency_max", 999.0),
        ("country_iso3", "KEN"),
    ):
        cases.append(
            (
                update(SchoolDaily).where(day).values({column: value}),
                "school_daily",
                school_key,
                column,
                value,
            )
        )
    for column, value in (("ping_count", 9), ("ping_connected_count", 0)):
        cases.append(
            (
                update(SchoolDaily).where(ping_day).values({column: value}),
                "school_daily",
                (schools["rwa_pings"], TODAY.isoformat()),
                column,
                value,
            )
        )
    cases.append((delete(SchoolDaily).where(day), "school_daily", school_key, ROW, ABSENT))
    stray_day = TODAY - timedelta(days=9)
    stray: dict[str, Any] = {"school_id": ken, "day": stray_day, "country_iso3": "KEN"}
    stray |= {"measurement_count": 1, "download_sum": 1.0, "upload_sum": 1.0, "latency_sum": 1.0}
    stray |= {"ping_count": 0, "ping_connected_count": 0}
    cases.append(
        (
            insert(SchoolDaily).values(stray),
            "school_daily",
            (schools["ken"], stray_day.isoformat()),
            ROW,
            PRESENT,
        )
    )
    for column, value in (
        ("schools_reporting", 5),
        ("download_sum", 0.0),
        ("download_max", 1e6),
        ("latency_min", 0.0),
        ("ping_connected_count", 42),
    ):
        cases.append(
            (
                update(CountryDaily).where(country_day).values({column: value}),
                "country_daily",
                ("RWA", TODAY.isoformat()),
                column,
                value,
            )
        )
    cases.append(
        (
            delete(CountryDaily).where(country_day),
            "country_daily",
            ("RWA", TODAY.isoformat()),
            ROW,
            ABSENT,
        )
    )
    for column, value in (
        ("schools_total", 40),
        ("good", 3),
        ("moderate", 0),
        ("unknown", 2),
        ("with_data", 0),
        ("download_sum", 123.0),
        ("latency_sum", 0.5),
    ):
        cases.append(
            (
                update(CountryStats)
                .where(CountryStats.country_iso3 == "RWA")
                .values({column: value}),
                "country_stats",
                ("RWA",),
                column,
                value,
            )
        )
    later = NOW + timedelta(hours=3)
    status_values: tuple[tuple[str, Any], ...] = (
        ("latest_download_mbps", 99.0),
        ("latest_upload_mbps", 0.0),
        ("latest_latency_ms", 1.0),
        ("last_measurement_at", later),
        ("last_ping_at", later),
        ("last_seen_at", later),
        ("connectivity_status", "bad"),
        ("is_online", False),
    )
    for column, value in status_values:
        cases.append(
            (
                update(School).where(School.id == rwa).values({column: value}),
                "schools",
                (schools["rwa"],),
                column,
                value,
            )
        )
    return cases


@pytest.fixture
def admin(auth_headers: TokenFactory) -> dict[str, str]:
    return auth_headers("admin")


async def test_verify_finds_nothing_after_ordinary_ingestion(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await _ingest_everything(client, admin)
    assert await _verify(app) == []
    assert await _verify(app, "KEN") == []


async def test_each_corrupted_value_is_reported_alone_and_repaired_by_rebuild(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    schools = await _ingest_everything(client, admin)
    for statement, table, key, column, value in _corruptions(schools):
        await assert_found_alone_and_repaired(app, statement, (table, key, column), value)


async def _batches(
    http: httpx.AsyncClient, admin: dict[str, str], school_ids: list[str], rounds: int
) -> None:
    for round_ in range(rounds):
        items = [
            _measurement(school_id, DAYS_AGO[(round_ + n) % 3], 1.0 + (round_ * 7 + n) % 40)
            for n, school_id in enumerate(school_ids)
        ]
        items += [
            _ping(school_id, NOW - timedelta(minutes=round_), round_ % 2 == 0)
            for school_id in school_ids
        ]
        await _post(http, "/v1/measurements/batch", {"items": items[: len(school_ids)]}, admin)
        await _post(http, "/v1/pings/batch", {"items": items[len(school_ids) :]}, admin)


async def test_rebuild_beside_concurrent_ingestion_loses_and_doubles_nothing(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    countries = ["RWA", "KEN"] * 6
    school_ids = [await _school(committing_client, admin, iso3) for iso3 in countries]
    await _batches(committing_client, admin, school_ids, 2)
    # Wrong figures everywhere rebuild has to touch while the batches keep coming.
    await execute(committing_app, update(SchoolDaily).values(measurement_count=0))
    await execute(committing_app, update(CountryDaily).values(download_min=0.0, ping_count=1))
    await execute(committing_app, update(CountryStats).values(good=50, download_sum=0.0))
    await execute(committing_app, update(School).values(latest_download_mbps=0.0))
    assert len(await _verify(committing_app)) > 20

    async def rebuild_in_small_chunks() -> Any:
        async with committing_app.state.database.sessionmaker() as session:
            return await rebuild(session, committing_app.state.settings, chunk_size=2)

    halves = [school_ids[::2], school_ids[1::2]]
    report, *_ = await asyncio.gather(
        rebuild_in_small_chunks(),
        *(_batches(committing_client, admin, half, 6) for half in halves),
    )
    assert report.schools == len(school_ids)
    assert await _verify(committing_app) == []


async def test_endpoints_verify_and_rebuild_for_admins_only(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], auth_headers: TokenFactory
) -> None:
    schools = await _ingest_everything(client, admin)
    reader = auth_headers("schools:read")
    refused = await client.get("/v1/connectivity/rollups/verify", headers=reader)
    assert refused.status_code == 403
    clean = await client.get("/v1/connectivity/rollups/verify?country=RWA", headers=admin)
    assert clean.status_code == 200, clean.text
    assert clean.json() == {
        "country": "RWA",
        "exact": True,
        "differences_total": 0,
        "differences": [],
    }
    rwa = uuid.UUID(schools["rwa"])
    await execute(app, update(School).where(School.id == rwa).values(latest_upload_mbps=0.0))
    found = (await client.get("/v1/connectivity/rollups/verify", headers=admin)).json()
    assert found["exact"] is False
    assert found["differences_total"] == 1
    assert [(d["table"], d["key"], d["column"], d["stored"]) for d in found["differences"]] == [
        ("schools", [schools["rwa"]], "latest_upload_mbps", 0.0)
    ]
    untouched = await client.post("/v1/connectivity/rollups/rebuild?country=KEN", headers=admin)
    assert (untouched.status_code, untouched.json()["changes"]) == (200, [])
    repaired = await client.post("/v1/connectivity/rollups/rebuild?country=rwa", headers=admin)
    assert repaired.status_code == 200, repaired.text
    assert [c["column"] for c in repaired.json()["changes"]] == ["latest_upload_mbps"]
    unknown = await client.get("/v1/connectivity/rollups/verify?country=XXX", headers=admin)
    assert unknown.status_code == 404
    assert (await client.get("/v1/connectivity/rollups/verify", headers=admin)).json()["exact"]


async def test_the_endpoints_list_up_to_limit_values_and_always_the_totals(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    schools = await _ingest_everything(client, admin)
    rwa = uuid.UUID(schools["rwa"])
    await execute(
        app,
        update(School)
        .where(School.id == rwa)
        .values(latest_upload_mbps=0.0, latest_latency_ms=0.0),
    )
    found = await client.get("/v1/connectivity/rollups/verify?limit=1", headers=admin)
    assert found.status_code == 200, found.text
    assert (found.json()["differences_total"], len(found.json()["differences"])) == (2, 1)
    too_many = await client.get("/v1/connectivity/rollups/verify?limit=1001", headers=admin)
    assert too_many.status_code == 422
    repaired = await client.post("/v1/connectivity/rollups/rebuild?limit=1", headers=admin)
    assert (repaired.json()["changes_total"], len(repaired.json()["changes"])) == (2, 1)
    assert (await client.get("/v1/connectivity/rollups/verify", headers=admin)).json()["exact"]


def _cli(url: str, action: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "C2R_SCHOOLS_DATABASE_URL": url,
        "C2R_SCHOOLS_COUNTRY_BENCHMARKS_MBPS": '{"KEN": 10}',  # as the tests' settings
    }
    command = [sys.executable, "-m", "school_monitor", "rollups", action]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


async def test_cli_verify_exits_1_with_the_differences_and_0_after_rebuild(
    committing_app: FastAPI, committing_client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    schools = await _ingest_everything(committing_client, admin)
    url = committing_app.state.database.url
    ken = uuid.UUID(schools["ken"])
    await execute(committing_app, update(School).where(School.id == ken).values(last_ping_at=NOW))
    found = await asyncio.to_thread(_cli, url, "verify")
    assert found.returncode == 1, found.stderr
    assert found.stdout.splitlines() == [
        f"schools[{schools['ken']}].last_ping_at: stored {NOW!r}, "
        f"expected {(await _verify(committing_app))[0].expected!r}"
    ]
    repaired = await asyncio.to_thread(_cli, url, "rebuild")
    assert repaired.returncode == 0, repaired.stderr
    assert "1 values repaired" in repaired.stdout
    assert (await asyncio.to_thread(_cli, url, "verify")).returncode == 0
