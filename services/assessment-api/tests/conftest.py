import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from assessment_api.app import ALEMBIC_INI, SERVICE_NAME, create_app
from assessment_api.config import AssessmentSettings
from assessment_api.seed import seed_reference
from c2r_common.schemas import CountryConnectivitySummary, SchoolCountsByStatus
from c2r_common.settings import Environment
from c2r_common.testing import ServiceUnderTest, TokenFactory


@dataclass
class StubSchoolMonitor:
    """A real HTTP server standing in for school-monitor's connectivity endpoint.

    `answers` maps an ISO alpha-3 code to the summary's schools_connected_pct, to "slow"
    (answers after the client's budget), to an HTTP error status or to the summary's JSON
    itself (a dict); others get a 404.
    """

    url: str = ""
    answers: dict[str, float | str | int | dict[str, Any]] = field(default_factory=dict)
    authorizations: list[str] = field(default_factory=list)

    def app(self) -> FastAPI:
        stub = FastAPI()

        @stub.get("/v1/connectivity/countries/{iso3}")
        async def summary(iso3: str, request: Request) -> Response:
            self.authorizations.append(request.headers.get("authorization", ""))
            answer = self.answers.get(iso3)
            if answer == "slow":
                await asyncio.sleep(STUB_SLOW_SECONDS)
            if isinstance(answer, dict):
                return JSONResponse(answer)
            if isinstance(answer, int) and not isinstance(answer, bool) and answer >= 400:
                return JSONResponse({"status": answer}, status_code=answer)
            if not isinstance(answer, float):
                return JSONResponse({"status": 404}, status_code=404)
            return JSONResponse(_summary(iso3, answer).model_dump(mode="json"))

        return stub


STUB_SLOW_SECONDS = 1.5
TEST_BUDGET_SECONDS = 0.3


def _summary(iso3: str, connected_pct: float) -> CountryConnectivitySummary:
    return CountryConnectivitySummary(
        iso3=iso3,
        as_of=datetime(2026, 11, 1, tzinfo=UTC),
        schools_total=63,
        schools_by_status=SchoolCountsByStatus(good=20, moderate=5, bad=30, unknown=8),
        schools_connected_pct=connected_pct,
        schools_reporting_24h=40,
        last_measurement_date=date(2026, 10, 31),
        schools_with_data=55,
        has_measurements=True,
        data_age_days=1,
    )


@pytest.fixture(scope="session")
async def stub_school_monitor() -> AsyncIterator[StubSchoolMonitor]:
    stub = StubSchoolMonitor()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    stub.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(
        stub.app(), lifespan="off", ws="none", log_config=None, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.01)
    yield stub
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture
def school_monitor(stub_school_monitor: StubSchoolMonitor) -> Iterator[StubSchoolMonitor]:
    """The stub, with answers set by the test and forgotten afterwards."""
    yield stub_school_monitor
    stub_school_monitor.answers.clear()
    stub_school_monitor.authorizations.clear()


@pytest.fixture(scope="session")
def service_under_test(stub_school_monitor: StubSchoolMonitor) -> ServiceUnderTest:
    return ServiceUnderTest(
        name=SERVICE_NAME,
        alembic_ini=ALEMBIC_INI,
        make_settings=lambda url: AssessmentSettings(
            database_url=url,
            environment=Environment.TEST,
            school_monitor_url=stub_school_monitor.url,
            school_monitor_timeout_seconds=TEST_BUDGET_SECONDS,
            school_monitor_retries=0,
        ),
        create_app=create_app,  # type: ignore[arg-type]
    )


@pytest.fixture
async def seeded(app: FastAPI, db_rollback: None) -> None:
    """The reference data every deployment is seeded with (methodology v1, beneficiaries),
    inside the test's rolled-back transaction."""
    async with app.state.database.sessionmaker() as db:
        await seed_reference(db)
        await db.commit()


REQUIRED_VALUES = {
    "pop_coverage_4g_pct": 80.0,
    "internet_users_pct": 30.0,
    "mobile_broadband_price_gni_pct": 6.0,
    "basic_digital_skills_pct": 20.0,
    "emergency_telecom_plan_tested": 0.0,
    "broadband_plan_funded": 1.0,
    "netp_adopted": 0.0,
    "universal_service_fund_active": 1.0,
}

AssessmentFactory = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def create_assessment(
    client: httpx.AsyncClient, auth_headers: TokenFactory, seeded: None
) -> AssessmentFactory:
    """Opens an assessment (and optionally enters values) through the API."""

    async def create(
        country: str = "RWA", period: str = "2026", values: dict[str, float] | None = None
    ) -> dict[str, Any]:
        headers = auth_headers("assessments:write")
        response = await client.post(
            "/v1/assessments", json={"country_iso3": country, "period": period}, headers=headers
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        if values:
            entries = [
                {"code": code, "value": value, "year": 2025, "source": "test"}
                for code, value in values.items()
            ]
            entered = await client.post(
                f"/v1/assessments/{created['id']}/indicators",
                json={"values": entries},
                headers=headers,
            )
            assert entered.status_code == 200, entered.text
        return created

    return create


@pytest.fixture
def move(
    client: httpx.AsyncClient, auth_headers: TokenFactory
) -> Callable[..., Awaitable[httpx.Response]]:
    """Moves an assessment through a list of statuses with an admin token."""

    async def run(assessment_id: str, *statuses: str) -> httpx.Response:
        response: httpx.Response | None = None
        for status in statuses:
            response = await client.post(
                f"/v1/assessments/{assessment_id}/transitions",
                json={"to": status},
                headers=auth_headers("admin"),
            )
            assert response.status_code == 200, response.text
        assert response is not None
        return response

    return run


@pytest.fixture
def required_values() -> dict[str, float]:
    """Values for every required indicator of methodology v1."""
    return dict(REQUIRED_VALUES)


@pytest.fixture
async def completed(
    create_assessment: AssessmentFactory,
    move: Callable[..., Awaitable[httpx.Response]],
    required_values: dict[str, float],
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Creates completed assessments with the required values, optionally overridden."""

    async def make(country: str, period: str, **overrides: float) -> dict[str, Any]:
        created = await create_assessment(country, period, values=required_values | overrides)
        await move(created["id"], "data_collection", "validation", "completed")
        return created

    return make
