"""school-monitor's real connectivity summary, read by the real assessment-api app: a
country whose schools have sent no measurement scores 'schools connected' as unavailable,
not as 0; once they have, the measured share is scored."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

import assessment_api.app
import school_monitor.app
from assessment_api.config import AssessmentSettings
from assessment_api.connectivity.reader import SchoolMonitorReader
from assessment_api.seed import seed_reference
from c2r_common.auth import mint_token
from c2r_common.client import ServiceClient
from c2r_common.settings import DEVELOPMENT_JWT_SECRET, Environment
from c2r_common.testing import ServiceUnderTest, app_on_fresh_database, asgi_client
from school_monitor.config import SchoolMonitorSettings
from school_monitor.seed import SCHOOLS, seed

SCHOOL_MONITOR = ServiceUnderTest(
    name="school-monitor",
    alembic_ini=school_monitor.app.ALEMBIC_INI,
    make_settings=lambda url: SchoolMonitorSettings(database_url=url, environment=Environment.TEST),
    create_app=school_monitor.app.create_app,  # type: ignore[arg-type]
)
ASSESSMENT_API = ServiceUnderTest(
    name="assessment-api",
    alembic_ini=assessment_api.app.ALEMBIC_INI,
    make_settings=lambda url: AssessmentSettings(database_url=url, environment=Environment.TEST),
    create_app=assessment_api.app.create_app,  # type: ignore[arg-type]
)
ADMIN = {
    "Authorization": f"Bearer {mint_token(DEVELOPMENT_JWT_SECRET, subject='t', scopes=['admin'])}"
}


@asynccontextmanager
async def assessment_api_reading(
    monitor: FastAPI, folder: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """assessment-api on a seeded database, its school-monitor reader on `monitor`."""
    async with app_on_fresh_database(ASSESSMENT_API, folder) as app:
        async with app.state.database.sessionmaker() as db:
            await seed_reference(db)
            await db.commit()
        token = mint_token(
            DEVELOPMENT_JWT_SECRET, subject="assessment-api", scopes=["schools:read"]
        )
        transport = httpx.ASGITransport(app=monitor)
        client = ServiceClient(
            "http://school-monitor", token_provider=lambda: token, transport=transport
        )
        original, app.state.school_monitor = (
            app.state.school_monitor,
            SchoolMonitorReader(client, 5.0),
        )
        try:
            async with asgi_client(app, ADMIN) as http:
                yield http
        finally:
            await app.state.school_monitor.aclose()
            app.state.school_monitor = original


async def _schools_connected(http: httpx.AsyncClient) -> dict[str, Any]:
    created = await http.post("/v1/assessments", json={"country_iso3": "RWA", "period": "2026"})
    assert created.status_code == 201, created.text
    scores = await http.get(f"/v1/assessments/{created.json()['id']}/scores")
    assert scores.status_code == 200, scores.text
    return next(i for i in scores.json()["indicators"] if i["code"] == "schools_connected_pct")


async def test_schools_without_measurements_are_unavailable_then_scored_once_measured(
    tmp_path: Path,
) -> None:
    async with app_on_fresh_database(SCHOOL_MONITOR, tmp_path / "monitor") as monitor:
        async with asgi_client(monitor, ADMIN) as http:
            for school in SCHOOLS:
                answer = await http.post("/v1/schools", json=school.model_dump(mode="json"))
                assert answer.status_code == 201, answer.text
            summary = (await http.get("/v1/connectivity/countries/RWA")).json()
        # The shape the defect came from: 0 % connected, and no measurement behind it.
        assert (summary["schools_total"], summary["schools_connected_pct"]) == (5, 0.0)
        assert (summary["last_measurement_date"], summary["has_measurements"]) == (None, False)
        async with assessment_api_reading(monitor, tmp_path / "silent") as http:
            schools = await _schools_connected(http)
        assert (schools["status"], schools["value"], schools["score"]) == (
            "unavailable",
            None,
            None,
        )
        assert "no measurement data" in schools["reason"]

        await seed(monitor.state.database, monitor.state.settings)  # a week of measurements
        async with asgi_client(monitor, ADMIN) as http:
            measured = (await http.get("/v1/connectivity/countries/RWA")).json()
        assert (measured["has_measurements"], measured["data_age_days"]) == (True, 0)
        async with assessment_api_reading(monitor, tmp_path / "measured") as http:
            schools = await _schools_connected(http)
        assert (schools["status"], schools["origin"]) == ("scored", "school-monitor")
        assert schools["value"] == measured["schools_connected_pct"]
