"""The Giga Meter write routes on real commits, looking from another session: an
acknowledged push is committed, and concurrent re-sends of a push, a backlog or a batch of
ping records are stored once, their failed records and flags written once; every derived
figure matches the raw rows afterwards (school_monitor.integrity); and Giga Maps' pull,
going on from the latest created_at it has, never passes a row that commits later."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from test_giga_meter_pull import DailyCheckAppMeasurementData, pull_like_giga_maps

from c2r_common.testing import ServiceUnderTest, TokenFactory, app_on_fresh_database, asgi_client
from school_monitor.gigameter.examples import agent_measurement, agent_ping_record
from school_monitor.gigameter.pull import service as pull_service
from school_monitor.gigameter.pull.service import WAIT_FOR_INGESTING_SECONDS
from school_monitor.ingestion.writer import transaction_time
from school_monitor.integrity.verify import verify
from school_monitor.measurements.models import FailedMeasurement, Measurement, MeasurementFlag, Ping

SCHOOLS, PUSHES_PER_SCHOOL, SENDS = 6, 4, 3


@pytest.fixture
async def committing(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app on a database of its own, two group commits in flight: real commits."""
    async with (
        app_on_fresh_database(
            service_under_test, tmp_path, group_commits_in_flight=2, background_interval_seconds=0
        ) as app,
        asgi_client(app) as client,
    ):
        yield app, client


async def rwandan_schools(
    client: httpx.AsyncClient, admin: dict[str, str], count: int
) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Schools in Rwanda, each with an agent: (school, device headers)."""
    schools = []
    for n in range(count):
        body = {"giga_id": f"gm-{n}-{uuid.uuid4().hex[:8]}", "name": "GS", "country_iso3": "RWA"}
        school = (await client.post("/v1/schools", json=body, headers=admin)).json()
        agent = {"school_id": school["id"], "hardware_id": f"hw-{uuid.uuid4().hex}"}
        token = (await client.post("/v1/agents", json=agent, headers=admin)).json()["token"]
        schools.append((school, {"Authorization": f"Bearer {token}"}))
    return schools


async def count(app: FastAPI, model: Any, *where: Any) -> int:
    """Rows seen from a session of its own: what is committed."""
    async with app.state.database.sessionmaker() as session:
        found = await session.scalar(select(func.count()).select_from(model).where(*where))
    return int(found or 0)


async def differences(app: FastAPI) -> list[Any]:
    async with app.state.database.sessionmaker() as session:
        found = await verify(session, app.state.settings)
        await session.rollback()
    return found


async def test_an_acknowledged_push_is_committed_and_concurrent_resends_store_it_once(
    committing: tuple[FastAPI, httpx.AsyncClient], auth_headers: TokenFactory
) -> None:
    app, client = committing
    schools = await rwandan_schools(client, auth_headers("admin"), SCHOOLS)
    first_school, first_device = schools[0]
    alone = agent_measurement(first_school["giga_id"])
    answered = await client.post("/api/v1/measurements", json=alone, headers=first_device)
    assert answered.status_code == 201, answered.text
    assert await count(app, Measurement, Measurement.uuid == uuid.UUID(alone["UUID"])) == 1

    payloads = [
        (agent_measurement(school["giga_id"], country_code="KE"), device)
        for school, device in schools
        for _ in range(PUSHES_PER_SCHOOL)
    ]
    sends = [
        client.post("/api/v1/measurements", json=payload, headers=device)
        for payload, device in payloads
        for _ in range(SENDS)
    ]
    responses = await asyncio.gather(*sends)
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 201}, [r.text for r in responses if r.status_code > 201]
    assert statuses.count(201) == len(payloads)  # each measurement stored by one send
    assert await count(app, Measurement) == len(payloads) + 1
    assert await count(app, MeasurementFlag) == len(payloads)
    assert await differences(app) == []


async def test_concurrent_resends_of_a_backlog_and_of_ping_records_are_stored_once(
    committing: tuple[FastAPI, httpx.AsyncClient], auth_headers: TokenFactory
) -> None:
    app, client = committing
    admin = auth_headers("admin")
    [(school, device)] = await rwandan_schools(client, admin, 1)
    now = datetime.now(UTC)
    backlog = [
        agent_measurement(school["giga_id"], measured_at=now - timedelta(hours=n + 1))
        for n in range(5)
    ]
    backlog.append(agent_measurement("no-such-school", country_code="RW"))
    records = [
        agent_ping_record(school["giga_id"], "browser", now - timedelta(minutes=15 * n))
        for n in range(5)
    ]
    sends = [
        client.post("/api/v1/measurements/multiple", json=backlog, headers=device)
        for _ in range(SENDS)
    ] + [
        client.post(
            f"/api/v1/connectivity/{school['giga_id']}", json={"records": records}, headers=device
        )
        for _ in range(SENDS)
    ]
    responses = await asyncio.gather(*sends)
    assert [r.status_code for r in responses] == [201] * 2 * SENDS, [r.text for r in responses]
    assert await count(app, Measurement) == 5
    assert await count(app, Ping) == 5
    assert await count(app, FailedMeasurement) == 1
    assert await differences(app) == []


async def test_concurrent_pushes_for_an_unknown_school_leave_one_failed_record(
    committing: tuple[FastAPI, httpx.AsyncClient], auth_headers: TokenFactory
) -> None:
    app, client = committing
    payload = agent_measurement("no-such-school", test_id="")
    writer = auth_headers("measurements:write", countries=["RWA"])
    responses = await asyncio.gather(
        *(client.post("/api/v1/measurements", json=payload, headers=writer) for _ in range(SENDS))
    )
    assert [r.status_code for r in responses] == [400] * SENDS
    assert await count(app, FailedMeasurement) == 1
    async with app.state.database.sessionmaker() as session:
        record = await session.scalar(select(FailedMeasurement))
    assert record is not None
    assert (record.country_iso3, record.reason) == ("RWA", "unknown_school")


async def test_each_pull_goes_on_from_the_last_created_at_without_losing_a_row(
    committing: tuple[FastAPI, httpx.AsyncClient], auth_headers: TokenFactory
) -> None:
    _, client = committing
    admin = auth_headers("admin")
    [(school, device)] = await rwandan_schools(client, admin, 1)
    since = datetime.now(UTC) - timedelta(days=1)
    pulled: list[DailyCheckAppMeasurementData] = []
    for _ in range(3):  # pushes between pulls, as Giga Maps' hourly pull meets them
        for _ in range(2):
            body = agent_measurement(school["giga_id"])
            answered = await client.post("/api/v1/measurements", json=body, headers=device)
            assert answered.status_code == 201, answered.text
        rows, _ = await pull_like_giga_maps(client, admin, since, size=1)
        pulled += rows
        since = max(r.created_at for r in pulled)
    assert len(pulled) == 6
    assert len({(r.created_at, r.browserId) for r in pulled}) == 6


@pytest.mark.postgresql_only
async def test_a_pull_shows_no_row_received_after_an_ingesting_transaction_still_open(
    committing: tuple[FastAPI, httpx.AsyncClient],
    auth_headers: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A transaction that began first and commits later would otherwise be passed by."""
    app, client = committing
    monkeypatch.setattr(pull_service, "WAIT_FOR_INGESTING_SECONDS", 0.3)
    admin = auth_headers("admin")
    [(school, device)] = await rwandan_schools(client, admin, 1)
    since = datetime.now(UTC) - timedelta(days=1)
    async with app.state.database.sessionmaker() as session:
        await transaction_time(session)  # begun, and named as ingestion names it
        body = agent_measurement(school["giga_id"])
        answered = await client.post("/api/v1/measurements", json=body, headers=device)
        assert answered.status_code == 201, answered.text
        hidden, _ = await pull_like_giga_maps(client, admin, since, size=100)
        assert hidden == []
        await session.rollback()
    shown, _ = await pull_like_giga_maps(client, admin, since, size=100)
    assert [r.browserId for r in shown] == [body["BrowserID"]]


@pytest.mark.postgresql_only
async def test_other_open_transactions_neither_hide_rows_nor_hold_the_pull(
    committing: tuple[FastAPI, httpx.AsyncClient], auth_headers: TokenFactory
) -> None:
    """A backup's long transaction or an idle session is no ingestion."""
    app, client = committing
    admin = auth_headers("admin")
    [(school, device)] = await rwandan_schools(client, admin, 1)
    since = datetime.now(UTC) - timedelta(days=1)
    async with app.state.database.engine.connect() as backup:
        await backup.exec_driver_sql("SET application_name = 'pg_dump'")
        await backup.exec_driver_sql("SELECT count(*) FROM measurements")  # begun
        body = agent_measurement(school["giga_id"])
        answered = await client.post("/api/v1/measurements", json=body, headers=device)
        assert answered.status_code == 201, answered.text
        started = time.monotonic()
        shown, _ = await pull_like_giga_maps(client, admin, since, size=100)
        assert time.monotonic() - started < WAIT_FOR_INGESTING_SECONDS
        assert [r.browserId for r in shown] == [body["BrowserID"]]
        await backup.rollback()


@pytest.mark.postgresql_only
async def test_a_pull_waits_for_an_ingesting_transaction_rather_than_answer_an_empty_page(
    committing: tuple[FastAPI, httpx.AsyncClient], auth_headers: TokenFactory
) -> None:
    """Giga Maps takes an empty page for "nothing until now" and goes on from its clock."""
    app, client = committing
    admin = auth_headers("admin")
    [(school, device)] = await rwandan_schools(client, admin, 1)
    since = datetime.now(UTC) - timedelta(days=1)
    async with app.state.database.sessionmaker() as session:
        await transaction_time(session)
        body = agent_measurement(school["giga_id"])
        answered = await client.post("/api/v1/measurements", json=body, headers=device)
        assert answered.status_code == 201, answered.text

        async def end_soon() -> None:
            await asyncio.sleep(0.3)
            await session.rollback()

        ending = asyncio.create_task(end_soon())
        shown, _ = await pull_like_giga_maps(client, admin, since, size=100)
        await ending
    assert [r.browserId for r in shown] == [body["BrowserID"]]
