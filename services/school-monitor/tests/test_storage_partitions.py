"""Storage of raw rows at Giga scale: monthly partitions on PostgreSQL with UUID keys that
keep de-duplication exact across them, retention that leaves every derived figure alone,
and on SQLite one table per kind (retention deletes rows by age there)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from service_process import committed_school, measurement_columns
from sqlalchemy import Connection, func, select, text

from c2r_common.db import Database, claim_write_lock
from c2r_common.migrations import alembic_config, upgrade_to_head
from c2r_common.testing import ServiceUnderTest, TokenFactory, fresh_database
from school_monitor.app import ALEMBIC_INI
from school_monitor.config import SchoolMonitorSettings
from school_monitor.ingestion import writer
from school_monitor.measurements.models import Measurement, MeasurementKey, Ping
from school_monitor.measurements.validation import FUTURE_TOLERANCE, time_problem
from school_monitor.models import Base
from school_monitor.retention import rules
from school_monitor.retention.service import (
    compared_with_the_models,
    delete_old_sqlite_rows,
    maintain_storage,
    partitions_of,
    prune_keys,
)

BEFORE_PARTITIONING = "9f7362d87b3c"


def _is_postgresql(database: Database) -> bool:
    return database.engine.dialect.name == "postgresql"


async def _store(
    database: Database, columns: writer.Columns, table: writer.BulkTable = writer.MEASUREMENTS
) -> set[uuid.UUID]:
    async with database.sessionmaker() as session:
        await claim_write_lock(session)
        stored = await writer.insert_new(session, table, columns)
        await session.commit()
    return stored


async def _count(database: Database, model: type[Base]) -> int:
    async with database.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _scalars(database: Database, statement: str, **values: Any) -> list[Any]:
    async with database.sessionmaker() as session:
        return list(await session.scalars(text(statement), values))


def _with(app: FastAPI, **changes: Any) -> SchoolMonitorSettings:
    settings: SchoolMonitorSettings = app.state.settings
    return settings.model_copy(update=changes)


@pytest.fixture
async def wide_window_client(
    service_under_test: ServiceUnderTest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """Real commits, and items accepted up to 62 days old: 40 days ago is always another
    month than now."""
    async with fresh_database(ALEMBIC_INI, "school_monitor_wide", tmp_path) as url:
        settings = service_under_test.make_settings(url)
        assert isinstance(settings, SchoolMonitorSettings)
        application = service_under_test.create_app(
            settings.model_copy(update={"max_measurement_age_days": 62})
        )
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                yield http


async def _school_over_http(http: httpx.AsyncClient, admin: dict[str, str]) -> str:
    body = {"giga_id": f"giga-{uuid.uuid4().hex[:12]}", "name": "GS Http", "country_iso3": "RWA"}
    response = await http.post("/v1/schools", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _item(school_id: str, item_uuid: uuid.UUID, measured_at: datetime) -> dict[str, Any]:
    return {
        "uuid": str(item_uuid),
        "school_id": school_id,
        "measured_at": measured_at.isoformat(),
        "download_mbps": 25.0,
        "upload_mbps": 10.0,
        "latency_ms": 40.0,
    }


async def test_a_uuid_sent_again_in_another_month_is_a_duplicate_stored_and_counted_once(
    wide_window_client: httpx.AsyncClient, auth_headers: TokenFactory
) -> None:
    http, admin = wide_window_client, auth_headers("admin")
    school_id = await _school_over_http(http, admin)
    item_uuid, now = uuid.uuid4(), datetime.now(UTC)
    older, newer = now - timedelta(days=40), now - timedelta(minutes=1)
    assert rules.month_start(older) != rules.month_start(newer)

    batches = [{"items": [_item(school_id, item_uuid, moment)]} for moment in (older, newer)]
    first, again = [
        await http.post("/v1/measurements/batch", json=batch, headers=admin) for batch in batches
    ]

    assert (first.json()["stored"], first.json()["duplicates"]) == (1, 0), first.text
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, 1), again.text
    daily = await http.get(
        f"/v1/schools/{school_id}/daily",
        params={"since": older.date().isoformat(), "until": now.date().isoformat()},
        headers=admin,
    )
    assert sum(day["measurement_count"] for day in daily.json()) == 1
    listed = await http.get(
        f"/v1/schools/{school_id}/measurements",
        params={"since": (older - timedelta(days=1)).isoformat()},
        headers=admin,
    )
    assert [m["measured_at"][:10] for m in listed.json()["items"]] == [older.date().isoformat()]


async def test_a_retry_in_the_same_batch_is_stored_once(
    committing_client: httpx.AsyncClient, committing_app: FastAPI, auth_headers: TokenFactory
) -> None:
    admin = auth_headers("admin")
    school_id = await _school_over_http(committing_client, admin)
    item = _item(school_id, uuid.uuid4(), datetime.now(UTC) - timedelta(minutes=1))

    response = await committing_client.post(
        "/v1/measurements/batch", json={"items": [item, item]}, headers=admin
    )

    assert (response.json()["stored"], response.json()["duplicates"]) == (1, 1), response.text
    database: Database = committing_app.state.database
    assert await _count(database, Measurement) == 1
    expected_keys = 1 if _is_postgresql(database) else 0  # SQLite: the table's own key
    assert await _count(database, MeasurementKey) == expected_keys


async def test_the_same_uuid_from_two_sessions_at_once_is_stored_once(
    committing_app: FastAPI,
) -> None:
    database: Database = committing_app.state.database
    school_id = await committed_school(database)
    now = datetime.now(UTC)
    columns = measurement_columns(school_id, [uuid.uuid4(), uuid.uuid4()], now, now)

    async def second_session() -> set[uuid.UUID]:
        return await _store(database, columns)

    async with database.sessionmaker() as first:
        await claim_write_lock(first)
        assert len(await writer.insert_new(first, writer.MEASUREMENTS, columns)) == 2
        second = asyncio.create_task(second_session())
        await asyncio.sleep(0.3)
        # PostgreSQL: waiting on the first one's keys; SQLite: on the write lock.
        assert not second.done()
        await first.commit()
    assert await second == set()
    assert await _count(database, Measurement) == 2


async def _partition_names(database: Database, table: writer.BulkTable) -> set[str]:
    async with database.sessionmaker() as session:
        return await partitions_of(session, table)


async def test_partitions_are_created_for_the_window_and_months_ahead(
    committing_app: FastAPI,
) -> None:
    database: Database = committing_app.state.database
    settings = _with(committing_app)
    now = datetime.now(UTC)
    later = rules.add_months(rules.month_start(now), 5) + timedelta(days=3)
    window = timedelta(days=settings.max_measurement_age_days)

    report = await maintain_storage(database, settings, now=later)
    again = await maintain_storage(database, settings, now=later)

    if not _is_postgresql(database):  # one table per kind: nothing to create
        assert report.created == again.created == []
        tables = await _scalars(database, "SELECT name FROM sqlite_master WHERE type = 'table'")
        assert not [t for t in tables if t.startswith(("measurements_", "pings_"))]
        return
    for table in writer.MEASUREMENTS, writer.PINGS:
        wanted = {m.partition_name(table.name) for m in rules.months_needed(later, window, 3)}
        at_migration = {m.partition_name(table.name) for m in rules.months_needed(now, window, 3)}
        assert wanted | at_migration | {f"{table.name}_default"} <= await _partition_names(
            database, table
        )
        assert wanted - at_migration <= set(report.created)
    assert again.created == []


async def test_a_row_of_a_month_without_partition_is_kept_and_moved_into_it_when_created(
    committing_app: FastAPI,
) -> None:
    database: Database = committing_app.state.database
    school_id = await committed_school(database)
    now = datetime.now(UTC)
    month = rules.Month(rules.month_start(now))
    name = month.partition_name("measurements")
    if _is_postgresql(database):
        async with database.sessionmaker() as session:
            await session.execute(text(f"DROP TABLE {name}"))
            await session.commit()

    assert (
        len(await _store(database, measurement_columns(school_id, [uuid.uuid4()], now, now))) == 1
    )
    report = await maintain_storage(database, _with(committing_app), now=now)

    if not _is_postgresql(database):
        assert report.moved_from_default == 0
        assert await _count(database, Measurement) == 1
        return
    assert (report.moved_from_default, name in report.created) == (1, True)
    found = await _scalars(database, "SELECT tableoid::regclass::text FROM measurements")
    assert found == [name]
    assert await _scalars(database, "SELECT count(*) FROM measurements_default") == [0]


async def _derived(http: httpx.AsyncClient, school_id: str, headers: dict[str, str]) -> list[Any]:
    summary = (await http.get("/v1/connectivity/countries/RWA", headers=headers)).json()
    summary.pop("as_of")
    return [
        summary,
        (await http.get(f"/v1/schools/{school_id}/daily", headers=headers)).json(),
        (await http.get("/v1/connectivity/countries/RWA/daily", headers=headers)).json(),
        (await http.get(f"/v1/schools/{school_id}/status", headers=headers)).json(),
    ]


async def test_retention_removes_old_raw_rows_and_leaves_rollups_and_the_country_summary(
    committing_client: httpx.AsyncClient, committing_app: FastAPI, auth_headers: TokenFactory
) -> None:
    admin = auth_headers("admin")
    school_id = await _school_over_http(committing_client, admin)
    now = datetime.now(UTC)
    items = [_item(school_id, uuid.uuid4(), now - timedelta(minutes=n)) for n in range(1, 4)]
    pings = [
        {"uuid": str(uuid.uuid4()), "school_id": school_id, "is_connected": True,
         "timestamp": (now - timedelta(minutes=n)).isoformat()}
        for n in range(1, 3)
    ]  # fmt: skip
    for path, batch in ("/v1/measurements/batch", items), ("/v1/pings/batch", pings):
        response = await committing_client.post(path, json={"items": batch}, headers=admin)
        assert response.status_code in (200, 201), response.text
    before = await _derived(committing_client, school_id, admin)
    database: Database = committing_app.state.database
    assert (await _count(database, Measurement), await _count(database, Ping)) == (3, 2)

    # Four months on, with two months kept: the current month is past the retention.
    later = rules.add_months(rules.month_start(now), 4) + timedelta(days=1)
    report = await maintain_storage(database, _with(committing_app, raw_retention_months=2), later)

    assert (await _count(database, Measurement), await _count(database, Ping)) == (0, 0)
    if _is_postgresql(database):
        month = rules.Month(rules.month_start(now))
        assert {month.partition_name("measurements"), month.partition_name("pings")} <= set(
            report.dropped
        )
        assert month.partition_name("measurements") not in await _partition_names(
            database, writer.MEASUREMENTS
        )
    else:
        assert report.rows_deleted == 5
    assert await _derived(committing_client, school_id, admin) == before


async def test_retention_never_removes_a_month_an_item_can_still_be_accepted_into(
    committing_app: FastAPI,
) -> None:
    database: Database = committing_app.state.database
    school_id = await committed_school(database)
    now = datetime.now(UTC)
    # Two months back: a retention of one month would remove that month, but 62 days are
    # accepted (a setting the validation refuses with this retention, forced here).
    oldest_accepted = now - timedelta(days=61)
    await _store(database, measurement_columns(school_id, [uuid.uuid4()], oldest_accepted, now))
    forced = _with(committing_app, raw_retention_months=1, max_measurement_age_days=62)

    await maintain_storage(database, forced, now)

    assert await _count(database, Measurement) == 1


async def test_key_pruning_keeps_every_retry_inside_the_window_a_duplicate(
    committing_app: FastAPI,
) -> None:
    database: Database = committing_app.state.database
    settings = _with(committing_app)
    max_age = timedelta(days=settings.max_measurement_age_days)
    school_id = await committed_school(database)
    stored_at = datetime.now(UTC)
    moment = stored_at + FUTURE_TOLERANCE  # the latest moment accepted: pruned the latest
    columns = measurement_columns(school_id, [uuid.uuid4()], moment, stored_at)
    assert len(await _store(database, columns)) == 1
    prunable_at = stored_at + max_age + FUTURE_TOLERANCE + rules.KEY_MARGIN

    inside = await maintain_storage(database, settings, now=prunable_at - timedelta(minutes=1))
    assert inside.keys_pruned == 0
    assert await _store(database, columns) == set()  # a retry is still a duplicate
    past = await maintain_storage(database, settings, now=prunable_at + timedelta(minutes=1))

    # SQLite de-duplicates on the raw table's key, kept as long as the row: nothing to prune.
    assert past.keys_pruned == (1 if _is_postgresql(database) else 0)
    # Once the key is gone, the item is refused before it reaches the store.
    later = prunable_at + timedelta(minutes=1)
    assert time_problem(moment, later, max_age, "body.items.0.measured_at") is not None
    assert await _count(database, Measurement) == 1


async def test_old_keys_and_rows_go_in_bounded_statements(committing_app: FastAPI) -> None:
    database: Database = committing_app.state.database
    school_id = await committed_school(database)
    now = datetime.now(UTC)
    await _store(
        database, measurement_columns(school_id, [uuid.uuid4() for _ in range(5)], now, now)
    )
    after_all = now + timedelta(days=1)

    removed = []
    for _ in range(4):
        async with database.sessionmaker() as session:
            if _is_postgresql(database):  # the keys; partitions go whole
                removed.append(await prune_keys(session, writer.MEASUREMENTS, after_all, 2))
            else:  # the rows themselves, oldest stored first
                table = writer.MEASUREMENTS
                removed.append(await delete_old_sqlite_rows(session, table, after_all, 2))
            await session.commit()

    assert removed == [2, 2, 1, 0]


def _relkind(connection: Connection, table: str) -> str | None:
    if connection.dialect.name != "postgresql":
        return None
    kind = text("SELECT relkind::text FROM pg_class WHERE relname = :table")
    return str(connection.scalar(kind, {"table": table}))


async def test_the_migration_downgrades_and_upgrades_with_the_rows(tmp_path: Path) -> None:
    async with fresh_database(ALEMBIC_INI, "school_monitor_mig", tmp_path) as url:
        database = Database(url)
        try:
            school_id = await committed_school(database)
            now = datetime.now(UTC)
            await _store(
                database, measurement_columns(school_id, [uuid.uuid4(), uuid.uuid4()], now, now)
            )
            postgresql = _is_postgresql(database)
            await database.engine.dispose()  # no pooled connection in the way of the DDL
            config = alembic_config(ALEMBIC_INI, url)
            await anyio.to_thread.run_sync(command.downgrade, config, BEFORE_PARTITIONING)
            async with database.engine.connect() as connection:
                assert await connection.run_sync(_relkind, "measurements") == (
                    "r" if postgresql else None
                )
                assert await connection.scalar(text("SELECT count(*) FROM measurements")) == 2
            await database.engine.dispose()
            await anyio.to_thread.run_sync(upgrade_to_head, ALEMBIC_INI, url)
            async with database.engine.connect() as connection:
                assert await connection.run_sync(_relkind, "measurements") == (
                    "p" if postgresql else None
                )
                assert await connection.scalar(text("SELECT count(*) FROM measurements")) == 2
                keys = await connection.scalar(text("SELECT count(*) FROM measurement_keys"))
                assert keys == (2 if postgresql else 0)
        finally:
            await database.dispose()


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": compared_with_the_models}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_the_migrated_schema_matches_the_models(committing_app: FastAPI) -> None:
    """What `alembic check` asserts, on the partitioned schema too."""
    database: Database = committing_app.state.database
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


def test_a_retention_shorter_than_the_acceptance_window_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 2"):
        SchoolMonitorSettings(raw_retention_months=1)
    with pytest.raises(ValidationError, match="at least 3"):
        SchoolMonitorSettings(raw_retention_months=2, max_measurement_age_days=55)
    assert SchoolMonitorSettings(raw_retention_months=2).raw_retention_months == 2
    assert SchoolMonitorSettings(raw_retention_months=0).raw_retention_months == 0


@given(
    now=st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2090, 1, 1)),
    max_age_days=st.integers(1, 400),
    extra_months=st.integers(0, 24),
)
def test_the_retention_never_reaches_into_the_acceptance_window(
    now: datetime, max_age_days: int, extra_months: int
) -> None:
    now = now.replace(tzinfo=UTC)
    max_age = timedelta(days=max_age_days)
    retention = rules.shortest_retention_months(max_age_days) + extra_months
    cutoff = rules.raw_cutoff(now, retention, max_age)
    assert cutoff is not None
    assert cutoff <= now - max_age - FUTURE_TOLERANCE
    # ...and every month an accepted item can fall in has a partition.
    months = rules.months_needed(now, max_age, 1)
    assert months[0].start <= now - max_age
    assert months[-1].end > now + FUTURE_TOLERANCE
    assert not any(rules.is_expired(month, cutoff) for month in months)
