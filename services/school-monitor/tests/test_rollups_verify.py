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
from sqlalchemy import text

from c2r_common.db import Database
from c2r_common.testing import TokenFactory
from school_monitor.config import SchoolMonitorSettings
from school_monitor.integrity.figures import ABSENT, PRESENT, ROW, Difference
from school_monitor.integrity.verify import verify

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
    body = {"giga_id": f"giga-{uuid.uuid4().hex[:12]}", "name": "GS Verify", "country_iso3": country}
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
        await _post(http, "/v1/measurements", _measurement(schools["rwa"], tied_at, download), admin)
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
    database: Database = app.state.database
    settings: SchoolMonitorSettings = app.state.settings
    async with database.sessionmaker() as session:
        return await verify(session, settings, country)


async def _execute(app: FastAPI, statement: str, **values: Any) -> None:
    database: Database = app.state.database
    sqlite = database.engine.dialect.name == "sqlite"
    values = {k: v.hex if sqlite and isinstance(v, uuid.UUID) else v for k, v in values.items()}
    async with database.sessionmaker() as session:
        await session.execute(text(statement), values)
        await session.commit()


@pytest.fixture
def admin(auth_headers: TokenFactory) -> dict[str, str]:
    return auth_headers("admin")


async def test_verify_finds_nothing_after_ordinary_ingestion(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await _ingest_everything(client, admin)
    assert await _verify(app) == []
    assert await _verify(app, "KEN") == []
