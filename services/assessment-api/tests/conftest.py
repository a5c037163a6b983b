from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from assessment_api.app import ALEMBIC_INI, SERVICE_NAME, create_app
from assessment_api.config import AssessmentSettings
from assessment_api.seed import seed_reference
from c2r_common.settings import Environment
from c2r_common.testing import ServiceUnderTest, TokenFactory


@pytest.fixture(scope="session")
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest(
        name=SERVICE_NAME,
        alembic_ini=ALEMBIC_INI,
        make_settings=lambda url: AssessmentSettings(
            database_url=url, environment=Environment.TEST
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
