"""Daily rollups and the country summary served to assessment-api."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import delete

from c2r_common.schemas import CountryConnectivitySummary
from school_monitor.rollups.models import CountryStats


async def push_batch(
    client: httpx.AsyncClient, headers: dict[str, str], items: list[dict[str, Any]]
) -> None:
    response = await client.post("/v1/measurements/batch", json={"items": items}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == []


async def fresh_country(app: FastAPI, iso3: str) -> None:
    """Counters start from zero for the country under test (other tests may share it)."""
    async with app.state.database.sessionmaker() as session:
        await session.execute(delete(CountryStats).where(CountryStats.country_iso3 == iso3))
        await session.commit()


async def test_daily_rollup_of_a_school(
    client: httpx.AsyncClient, make_school: Any, admin: dict[str, str], measurement: Any, ping: Any
) -> None:
    school = await make_school()
    yesterday = datetime.now(UTC).replace(hour=12, minute=0) - timedelta(days=1)
    items = [
        measurement(
            school["id"],
            measured_at=(yesterday + timedelta(minutes=i)).isoformat(),
            download_mbps=mbps,
            upload_mbps=mbps / 2,
            latency_ms=latency,
        )
        for i, (mbps, latency) in enumerate([(10.0, 30.0), (20.0, 50.0), (30.0, 40.0)])
    ]
    await push_batch(client, admin, items[:2])
    await push_batch(client, admin, items)  # a retry, plus one new
    checks = [
        ping(school["id"], timestamp=yesterday.isoformat(), is_connected=c)
        for c in (True, True, False)
    ]
    await client.post("/v1/pings/batch", json={"items": checks}, headers=admin)
    response = await client.get(f"/v1/schools/{school['id']}/daily", headers=admin)
    [day] = response.json()
    assert day["day"] == yesterday.date().isoformat()
    assert day["measurement_count"] == 3
    assert (day["download_mbps_mean"], day["download_mbps_min"], day["download_mbps_max"]) == (
        20.0,
        10.0,
        30.0,
    )
    assert (day["latency_ms_min"], day["latency_ms_max"], day["upload_mbps_mean"]) == (
        30.0,
        50.0,
        10.0,
    )
    assert (day["ping_count"], round(day["uptime_pct"], 2)) == (3, 66.67)


async def test_country_summary_matches_the_schools(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_school: Any,
    admin: dict[str, str],
    auth_headers: Any,
    measurement: Any,
) -> None:
    await fresh_country(app, "MRT")
    schools = [await make_school("MRT") for _ in range(5)]
    speeds = [50.0, 25.0, 10.0, 0.5]  # good, good, moderate, bad; the fifth has no data
    for school, mbps in zip(schools, speeds, strict=False):
        await push_batch(
            client,
            admin,
            [measurement(school["id"], download_mbps=mbps, upload_mbps=mbps / 5, latency_ms=mbps)],
        )
    reader = auth_headers("schools:read")
    response = await client.get("/v1/connectivity/countries/mrt", headers=reader)
    assert response.status_code == 200, response.text
    summary = CountryConnectivitySummary.model_validate(response.json())
    assert summary.iso3 == "MRT"
    assert summary.schools_total == 5
    counts = summary.schools_by_status
    assert (counts.good, counts.moderate, counts.bad, counts.unknown) == (2, 1, 1, 1)
    assert summary.schools_connected_pct == 60.0
    assert summary.schools_reporting_24h == 4
    assert summary.download_mbps_median == 17.5
    assert summary.download_mbps_mean == 21.375
    assert summary.upload_mbps_median == 3.5
    assert summary.latency_ms_median == 17.5
    assert summary.benchmark_download_mbps == 20.0
    assert summary.last_measurement_date == datetime.now(UTC).date()
    assert (summary.schools_with_data, summary.has_measurements) == (4, True)
    assert summary.data_age_days == 0


async def test_country_summary_after_a_school_changes_status(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_school: Any,
    admin: dict[str, str],
    measurement: Any,
) -> None:
    await fresh_country(app, "ZWE")
    school = await make_school("ZWE")
    now = datetime.now(UTC)
    for minutes, mbps in ((20, 40.0), (10, 2.0)):
        taken = (now - timedelta(minutes=minutes)).isoformat()
        await push_batch(
            client, admin, [measurement(school["id"], measured_at=taken, download_mbps=mbps)]
        )
    summary = (await client.get("/v1/connectivity/countries/ZWE", headers=admin)).json()
    assert summary["schools_by_status"] == {"good": 0, "moderate": 1, "bad": 0, "unknown": 0}
    assert (summary["download_mbps_median"], summary["download_mbps_mean"]) == (2.0, 2.0)


async def test_country_summary_for_a_country_without_schools_and_unknown_codes(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], auth_headers: Any
) -> None:
    await fresh_country(app, "TUV")
    empty = (await client.get("/v1/connectivity/countries/TUV", headers=admin)).json()
    assert (empty["schools_total"], empty["schools_connected_pct"]) == (0, None)
    assert (empty["has_measurements"], empty["data_age_days"]) == (False, None)
    assert (await client.get("/v1/connectivity/countries/XXX", headers=admin)).status_code == 404
    limited = auth_headers("schools:read", countries=["RWA"])
    response = await client.get("/v1/connectivity/countries/TUV", headers=limited)
    assert response.status_code == 404


async def test_country_daily_and_region_summary(
    app: FastAPI,
    client: httpx.AsyncClient,
    make_school: Any,
    admin: dict[str, str],
    measurement: Any,
) -> None:
    await fresh_country(app, "BDI")
    schools = [await make_school("BDI") for _ in range(2)]
    for school in schools:
        await push_batch(client, admin, [measurement(school["id"]), measurement(school["id"])])
    daily = (await client.get("/v1/connectivity/countries/BDI/daily", headers=admin)).json()
    assert daily[-1]["schools_reporting"] >= 2
    assert daily[-1]["measurement_count"] >= 4
    region = (await client.get("/v1/connectivity/regions/africa", headers=admin)).json()
    assert region["region"] == "Africa"
    burundi = next(c for c in region["countries"] if c["iso3"] == "BDI")
    assert burundi["schools_by_status"]["good"] == 2
    missing = await client.get("/v1/connectivity/regions/atlantis", headers=admin)
    assert missing.status_code == 404
    _ = uuid


def test_scanned_figures_are_reused_until_they_expire_or_schools_gain_data() -> None:
    from school_monitor.rollups.queries import ScanCache, ScannedFigures

    figures = ScannedFigures(3, 10.0, 2.0, 40.0, None)
    cache = ScanCache(ttl_seconds=60)
    cache.put("RWA", 5, figures)
    assert cache.get("RWA", 5) is figures
    assert cache.get("RWA", 6) is None  # a school got its first measurement: read again
    assert cache.get("KEN", 5) is None
    disabled = ScanCache(ttl_seconds=0)
    disabled.put("RWA", 5, figures)
    assert disabled.get("RWA", 5) is None
