"""The embedded default's example data: the Rwandan pilot schools with Giga-style ids and
government ids, a registered agent each and a week of data written through the ingestion
pipeline, so that every read shows something; seeding twice adds nothing."""

import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from c2r_common.testing import ServiceUnderTest, TokenFactory, app_on_fresh_database, asgi_client
from school_monitor.agents.models import Agent
from school_monitor.measurements.models import Measurement, Ping
from school_monitor.schools.models import School
from school_monitor.schools.schemas import SchoolIn
from school_monitor.schools.service import create_school
from school_monitor.seed import LEGACY_GIGA_IDS, SCHOOLS, seed


async def counts(app: FastAPI) -> tuple[int, ...]:
    found = []
    async with app.state.database.sessionmaker() as session:
        for table in (School, Agent, Measurement, Ping):
            found.append(int(await session.scalar(select(func.count()).select_from(table)) or 0))
    return tuple(found)


async def test_seed_gives_every_read_something_and_is_idempotent(
    service_under_test: ServiceUnderTest, tmp_path: Path, auth_headers: TokenFactory
) -> None:
    async with app_on_fresh_database(service_under_test, tmp_path) as app:
        await seed(app.state.database, app.state.settings)
        first = await counts(app)
        await seed(app.state.database, app.state.settings)
        assert await counts(app) == first
        schools, agents, measurements, pings = first
        assert (schools, agents) == (5, 5)
        # A week of four speed tests and 49 ping checks a day, today's up to now.
        assert 5 * 6 * 4 <= measurements <= 5 * 7 * 4
        assert 5 * 6 * 49 <= pings <= 5 * 7 * 49
        async with asgi_client(app, auth_headers("schools:read", countries=["RWA"])) as http:
            await reads_show_the_week(http)


async def reads_show_the_week(http: httpx.AsyncClient) -> None:
    listed = (await http.get("/v1/schools", params={"country": "RWA"})).json()["items"]
    assert sorted(s["giga_id"] for s in listed) == sorted(s.giga_id for s in SCHOOLS)
    for school in listed:
        uuid.UUID(school["giga_id"])
        assert school["government_id"]
    summary = (await http.get("/v1/connectivity/countries/RWA")).json()
    assert summary["schools_total"] == 5
    assert summary["schools_by_status"]["unknown"] == 0
    assert summary["download_mbps_median"] is not None
    daily = (await http.get("/v1/connectivity/countries/RWA/daily")).json()
    assert len(daily) >= 6
    status = (await http.get(f"/v1/schools/{listed[0]['id']}/status")).json()
    assert status["latest_download_mbps"] is not None
    school_daily = (await http.get(f"/v1/schools/{listed[0]['id']}/daily")).json()
    assert any(day.get("uptime_pct") is not None for day in _items(school_daily))
    alerts = (await http.get("/v1/alerts", params={"country": "RWA"})).json()["items"]
    assert {alert["kind"] for alert in alerts} >= {"fell_below_benchmark", "recovered"}


def _items(body: Any) -> list[dict[str, Any]]:
    return list(body["items"] if isinstance(body, dict) else body)


async def test_schools_seeded_with_the_first_ids_get_the_giga_style_ones(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> None:
    async with app_on_fresh_database(service_under_test, tmp_path) as app:
        async with app.state.database.sessionmaker() as session:
            for data in SCHOOLS:
                legacy = data.model_dump() | {"giga_id": LEGACY_GIGA_IDS[data.giga_id]}
                await create_school(
                    session, SchoolIn.model_validate(legacy | {"government_id": None})
                )
            await session.commit()
        await seed(app.state.database, app.state.settings)
        async with app.state.database.sessionmaker() as session:
            rows = (await session.execute(select(School.giga_id, School.government_id))).all()
        assert sorted(rows) == sorted((s.giga_id, s.government_id) for s in SCHOOLS)
