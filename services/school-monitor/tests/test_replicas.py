"""Several replicas on one database: the background rounds of two apps (two engines, two
pools) race on real commits, and only the gauge leader exports the domain gauges."""

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from c2r_common.singleton import Leadership
from c2r_common.testing import ServiceUnderTest, TokenFactory, fresh_database
from school_monitor.background import GAUGE_LEADERSHIP, run_once, run_round
from school_monitor.rollups.models import CountryStats
from school_monitor.schools.models import School
from school_monitor.status.models import Alert

SCHOOLS_PER_COUNTRY = 6
COUNTRIES = ("RWA", "NER")
ROUNDS_PER_REPLICA = 10
STATUS_SPEEDS = (25.0, 5.0, 0.5)  # good, moderate, bad against the 20 Mbps benchmark


@pytest.fixture
async def replicas(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """Two apps on one fresh database, each with its own engine, as two replicas."""
    async with fresh_database(service_under_test.alembic_ini, "replicas", tmp_path) as url:
        apps = [service_under_test.create_app(service_under_test.make_settings(url))]
        apps.append(service_under_test.create_app(service_under_test.make_settings(url)))
        async with (
            apps[0].router.lifespan_context(apps[0]),
            apps[1].router.lifespan_context(apps[1]),
        ):
            yield apps[0], apps[1]


def http(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def silent_schools(app: FastAPI, admin: dict[str, str], measurement: Any) -> list[str]:
    """Schools that reported (online, in every status) and then went silent for 3 hours."""
    ids: list[str] = []
    async with http(app) as client:
        for country in COUNTRIES:
            for n in range(SCHOOLS_PER_COUNTRY):
                body = {"giga_id": f"giga-{uuid.uuid4().hex[:12]}", "name": f"GS {n}"}
                response = await client.post(
                    "/v1/schools", json=body | {"country_iso3": country}, headers=admin
                )
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
        items = [
            measurement(school_id, download_mbps=STATUS_SPEEDS[n % len(STATUS_SPEEDS)])
            for n, school_id in enumerate(ids)
        ]
        response = await client.post("/v1/measurements/batch", json={"items": items}, headers=admin)
        assert response.status_code in (200, 201, 207), response.text
    async with app.state.database.sessionmaker() as session:
        online = await session.scalars(select(School.is_online))
        assert all(online)
        long_ago = datetime.now(UTC) - timedelta(hours=3)
        await session.execute(update(School).values(last_seen_at=long_ago))
        await session.commit()
    return ids


async def country_counters(app: FastAPI) -> dict[str, tuple[int, ...]]:
    async with app.state.database.sessionmaker() as session:
        rows = await session.scalars(select(CountryStats))
        return {
            r.country_iso3: (r.schools_total, r.good, r.moderate, r.bad, r.unknown, r.with_data)
            for r in rows
        }


async def counters_from_schools(app: FastAPI) -> dict[str, tuple[int, ...]]:
    async with app.state.database.sessionmaker() as session:
        schools = (await session.scalars(select(School))).all()
    expected: dict[str, tuple[int, ...]] = {}
    for country in {school.country_iso3 for school in schools}:
        mine = [school for school in schools if school.country_iso3 == country]
        statuses = Counter(school.connectivity_status for school in mine)
        with_data = sum(school.latest_download_mbps is not None for school in mine)
        by_status = tuple(statuses[s] for s in ("good", "moderate", "bad", "unknown"))
        expected[country] = (len(mine), *by_status, with_data)
    return expected


async def test_racing_rounds_of_two_replicas_take_each_silent_school_offline_once(
    replicas: tuple[FastAPI, FastAPI], auth_headers: TokenFactory, measurement: Any
) -> None:
    first, second = replicas
    ids = await silent_schools(first, auth_headers("admin"), measurement)
    before = await country_counters(first)

    rounds = [
        run_once(app.state.database, app.state.settings)
        for _ in range(ROUNDS_PER_REPLICA)
        for app in (first, second)
    ]
    went_offline = await asyncio.gather(*rounds)

    assert sum(went_offline) == len(ids)  # every school counted by exactly one round
    async with second.state.database.sessionmaker() as session:
        assert not any((await session.scalars(select(School.is_online))).all())
        kinds = (await session.execute(select(Alert.school_id, Alert.kind))).all()
    offline_alerts = Counter(str(school) for school, kind in kinds if kind == "went_offline")
    assert offline_alerts == dict.fromkeys(ids, 1)
    after = await country_counters(second)
    assert after == before == await counters_from_schools(second)
    assert sum(counts[0] for counts in after.values()) == len(ids)


DOMAIN_GAUGES = (
    "c2r_school_monitor_schools",
    "c2r_school_monitor_schools_monitored",
    "c2r_school_monitor_schools_offline",
    "c2r_school_monitor_agents_seen_24h",
)


def domain_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name in DOMAIN_GAUGES
    }


async def scrape(app: FastAPI) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with http(app) as client:
        return domain_samples((await client.get("/metrics")).text)


async def test_only_the_gauge_leader_exports_the_domain_gauges(
    replicas: tuple[FastAPI, FastAPI], auth_headers: TokenFactory, measurement: Any
) -> None:
    first, second = replicas
    await silent_schools(first, auth_headers("admin"), measurement)
    database, settings = first.state.database, first.state.settings
    other_replica = Leadership(second.state.database.engine, GAUGE_LEADERSHIP, 30)
    this_replica = Leadership(database.engine, GAUGE_LEADERSHIP, 30)
    try:
        assert await other_replica.check()
        await run_round(database, settings, this_replica)
        leads_here = settings.database_url.startswith("sqlite")  # one process per file
        exported = await scrape(first)
        good = ("c2r_school_monitor_schools", (("country", "RWA"), ("status", "good")))
        if leads_here:
            assert exported[good] == 2
        else:  # the other replica leads: no series here, not zeros
            assert exported == {}
            await other_replica.release()
            await run_round(database, settings, this_replica)
            exported = await scrape(first)
            assert exported[good] == 2
        assert exported[("c2r_school_monitor_agents_seen_24h", ())] == 0
        # the round's sweep took every silent school offline (none has an admin1)
        offline = ("c2r_school_monitor_schools_offline", (("admin1", ""), ("country", "RWA")))
        assert exported[offline] == SCHOOLS_PER_COUNTRY
        assert len(exported) == len(COUNTRIES) * (4 + 2) + 1
    finally:
        await this_replica.aclose()
        await other_replica.aclose()
