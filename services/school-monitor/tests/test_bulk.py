"""The set-based statements of the ingestion path write what the ORM would, and read it back
as the ORM does (school_monitor.bulk)."""

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import DATE, DATETIME

from school_monitor.bulk import sqlite_date, sqlite_datetime, sqlite_uuid
from school_monitor.ingestion.writer import lock_school_states
from school_monitor.measurements.models import Measurement, Ping
from school_monitor.rollups.models import SchoolDaily
from school_monitor.schools.models import School


def test_sqlite_forms_are_those_of_sqlalchemy() -> None:
    datetime_form = DATETIME().bind_processor(sqlite.dialect())
    date_form = DATE().bind_processor(sqlite.dialect())
    assert datetime_form is not None
    assert date_form is not None
    for moment in (
        datetime(2026, 11, 24, 9, 15, 0, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 600_007, tzinfo=UTC),
    ):
        assert sqlite_datetime(moment) == datetime_form(moment.replace(tzinfo=None))
    assert sqlite_date(date(2026, 2, 3)) == date_form(date(2026, 2, 3))
    school = uuid.uuid4()
    assert sqlite_uuid(school) == school.hex


async def test_a_measurement_is_read_back_through_the_orm_as_pushed(
    app: FastAPI, client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school()
    taken = datetime.now(UTC).replace(microsecond=123_456) - timedelta(minutes=3)
    item = {
        "uuid": str(uuid.uuid4()),
        "school_id": school["id"],
        "measured_at": taken.astimezone(timezone(timedelta(hours=2))).isoformat(),
        "download_mbps": 23.5,
        "upload_mbps": 8.25,
        "latency_ms": 41.0,
        "jitter_ms": 3.5,
        "packet_loss_pct": 0.5,
        "source": "native",
        "server": "ndt.example.org",
        "app_version": "4.1.2",
        "raw_result": {"NDTResult.S2C": {"MinRTT": 12.5}, "ok": True},
    }
    response = await client.post("/v1/measurements", json=item, headers=admin)
    assert response.status_code == 201, response.text
    async with app.state.database.sessionmaker() as session:
        stored = await session.scalar(select(Measurement))
    assert stored is not None
    assert stored.uuid == uuid.UUID(item["uuid"])
    assert stored.school_id == uuid.UUID(school["id"])
    assert stored.measured_at == taken
    assert stored.measured_at.tzinfo is not None
    assert (stored.download_mbps, stored.upload_mbps, stored.latency_ms) == (23.5, 8.25, 41.0)
    assert (stored.jitter_ms, stored.packet_loss_pct) == (3.5, 0.5)
    assert (stored.server, stored.app_version, stored.agent_id) == (
        "ndt.example.org",
        "4.1.2",
        None,
    )
    assert stored.raw_result == item["raw_result"]


async def test_a_ping_and_the_status_it_sets_are_read_back_through_the_orm(
    app: FastAPI, client: httpx.AsyncClient, make_school: Any, admin: dict[str, str]
) -> None:
    school = await make_school()
    checked = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    item = {
        "uuid": str(uuid.uuid4()),
        "school_id": school["id"],
        "timestamp": checked.isoformat(),
        "is_connected": True,
        "latency_ms": 80.0,
    }
    response = await client.post("/v1/pings", json=item, headers=admin)
    assert response.status_code == 201, response.text
    async with app.state.database.sessionmaker() as session:
        ping = await session.scalar(select(Ping))
        row = await session.get(School, uuid.UUID(school["id"]))
        day = await session.scalar(select(SchoolDaily))
        [state] = await lock_school_states(session, [uuid.UUID(school["id"])])
    assert ping is not None
    assert row is not None
    assert day is not None
    assert (ping.checked_at, ping.is_connected, ping.error) == (checked, True, None)
    assert (row.is_online, row.last_ping_at, row.last_seen_at) == (True, checked, checked)
    assert row.status_changed_at is not None
    assert (day.school_id, day.day, day.ping_count, day.ping_connected_count) == (
        uuid.UUID(school["id"]),
        checked.date(),
        1,
        1,
    )
    assert (state.id, state.country_iso3, state.is_online) == (row.id, "RWA", True)
    assert (state.last_seen_at, state.status_changed_at) == (checked, row.status_changed_at)
