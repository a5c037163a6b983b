"""Group commits in flight at the same time add up exactly.

These tests commit for real, in a database of their own: the other tests' rolled-back
transaction is a single connection, which cannot run two group commits at once.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from c2r_common.testing import ServiceUnderTest, TokenFactory, app_on_fresh_database, asgi_client
from school_monitor.rollups.models import CountryDaily, CountryStats, SchoolDaily

SCHOOLS, PUSHES_PER_SCHOOL = 8, 5


@pytest.fixture
async def two_in_flight(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with (
        app_on_fresh_database(
            service_under_test, tmp_path, group_commits_in_flight=2, background_interval_seconds=0
        ) as app,
        asgi_client(app) as client,
    ):
        yield app, client


async def register_schools(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> list[tuple[str, dict[str, str]]]:
    """SCHOOLS schools in Rwanda, each with an agent: (school id, device headers)."""
    registered = []
    for n in range(SCHOOLS):
        body = {"giga_id": f"gc-{n}-{uuid.uuid4().hex[:8]}", "name": "GS", "country_iso3": "RWA"}
        school = (await client.post("/v1/schools", json=body, headers=admin)).json()
        agent = {"school_id": school["id"], "hardware_id": f"hw-{uuid.uuid4().hex}"}
        token = (await client.post("/v1/agents", json=agent, headers=admin)).json()["token"]
        registered.append((school["id"], {"Authorization": f"Bearer {token}"}))
    return registered


def push(
    client: httpx.AsyncClient, device: dict[str, str], taken: datetime, download: float
) -> Coroutine[None, None, httpx.Response]:
    item = {
        "uuid": str(uuid.uuid4()),
        "measured_at": taken.isoformat(),
        "download_mbps": download,
        "upload_mbps": 5.0,
        "latency_ms": 30.0,
    }
    return client.post("/v1/measurements", json=item, headers=device)


async def test_group_commits_in_flight_together_add_up_exactly(
    two_in_flight: tuple[FastAPI, httpx.AsyncClient], auth_headers: TokenFactory
) -> None:
    app, client = two_in_flight
    schools = await register_schools(client, auth_headers("admin"))
    taken = datetime.now(UTC) - timedelta(minutes=1)
    # One push per device first, so that the concurrent ones find their token cached.
    for _, device in schools:
        assert (await push(client, device, taken, 30.0)).status_code == 201

    # Every school's pushes are spread over the groups that split this round.
    pushes = [
        push(client, device, taken, 30.0 + n)
        for n in range(PUSHES_PER_SCHOOL)
        for _, device in schools
    ]
    responses = await asyncio.gather(*pushes)

    assert [r.status_code for r in responses] == [201] * len(pushes)
    per_school = PUSHES_PER_SCHOOL + 1
    async with app.state.database.sessionmaker() as session:
        school_days = (await session.scalars(select(SchoolDaily))).all()
        assert sorted(str(d.school_id) for d in school_days) == sorted(s for s, _ in schools)
        assert {d.measurement_count for d in school_days} == {per_school}
        country_day = await session.get(CountryDaily, ("RWA", taken.date()))
        assert country_day is not None
        assert (country_day.measurement_count, country_day.schools_reporting) == (
            SCHOOLS * per_school,
            SCHOOLS,
        )
        assert country_day.download_max == 30.0 + PUSHES_PER_SCHOOL - 1
        stats = await session.get(CountryStats, "RWA")
        assert stats is not None
        assert (stats.schools_total, stats.good, stats.unknown) == (SCHOOLS, SCHOOLS, 0)


async def test_a_measurement_and_a_ping_with_one_uuid_in_one_group_are_both_stored(
    two_in_flight: tuple[FastAPI, httpx.AsyncClient], auth_headers: TokenFactory
) -> None:
    app, client = two_in_flight
    [(_, device)] = (await register_schools(client, auth_headers("admin")))[:1]
    taken = datetime.now(UTC) - timedelta(minutes=1)
    # The device's token verified once: the two pushes then reach the same group commit.
    assert (await push(client, device, taken, 25.0)).status_code == 201
    shared = str(uuid.uuid4())
    measurement = {
        "uuid": shared,
        "measured_at": taken.isoformat(),
        "download_mbps": 25.0,
        "upload_mbps": 5.0,
        "latency_ms": 30.0,
    }
    ping = {"uuid": shared, "timestamp": taken.isoformat(), "is_connected": True}
    pushed = await asyncio.gather(
        client.post("/v1/measurements", json=measurement, headers=device),
        client.post("/v1/pings", json=ping, headers=device),
    )
    assert [response.status_code for response in pushed] == [201, 201]
    async with app.state.database.sessionmaker() as session:
        [daily] = (await session.scalars(select(SchoolDaily))).all()
    assert (daily.measurement_count, daily.ping_count) == (2, 1)
