import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from c2r_common.settings import Environment
from c2r_common.testing import ServiceUnderTest, TokenFactory
from school_monitor.app import ALEMBIC_INI, SERVICE_NAME, create_app
from school_monitor.config import SchoolMonitorSettings


@pytest.fixture(scope="session")
def service_under_test() -> ServiceUnderTest:
    return ServiceUnderTest(
        name=SERVICE_NAME,
        alembic_ini=ALEMBIC_INI,
        make_settings=lambda url: SchoolMonitorSettings(
            database_url=url,
            environment=Environment.TEST,
            country_benchmarks_mbps={"KEN": 10.0},
            summary_scan_seconds=0,
            # A test's sessions share the one connection of its rolled-back transaction,
            # which cannot run two group commits at once (test_group_commit.py does).
            group_commits_in_flight=1,
        ),
        create_app=create_app,  # type: ignore[arg-type]
    )


@pytest.fixture
def admin(auth_headers: TokenFactory) -> dict[str, str]:
    return auth_headers("admin")


SchoolFactory = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def make_school(client: httpx.AsyncClient, admin: dict[str, str]) -> SchoolFactory:
    async def make(country: str = "RWA", **fields: Any) -> dict[str, Any]:
        body = {
            "giga_id": f"giga-{uuid.uuid4().hex[:12]}",
            "name": "GS Test",
            "country_iso3": country,
        }
        response = await client.post("/v1/schools", json=body | fields, headers=admin)
        assert response.status_code == 201, response.text
        return dict(response.json())

    return make


AgentFactory = Callable[[str], Awaitable[dict[str, str]]]


@pytest.fixture
def device_headers(client: httpx.AsyncClient, admin: dict[str, str]) -> AgentFactory:
    """Registers an agent for a school and returns its Authorization header."""

    async def register(school_id: str) -> dict[str, str]:
        body = {"school_id": school_id, "hardware_id": f"hw-{uuid.uuid4().hex}"}
        response = await client.post("/v1/agents", json=body, headers=admin)
        assert response.status_code == 201, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    return register


def _measurement(school_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A plausible measurement taken a minute ago."""
    item: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "measured_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "download_mbps": 25.0,
        "upload_mbps": 10.0,
        "latency_ms": 40.0,
    }
    if school_id is not None:
        item["school_id"] = school_id
    return item | fields


def _ping(school_id: str | None = None, **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "timestamp": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "is_connected": True,
        "latency_ms": 30.0,
    }
    if school_id is not None:
        item["school_id"] = school_id
    return item | fields


ItemFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def measurement() -> ItemFactory:
    return _measurement


@pytest.fixture
def ping() -> ItemFactory:
    return _ping
