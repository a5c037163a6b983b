"""The CSV import commits chunk by chunk, on real commits seen from other sessions: other
writers wait for one chunk, not for the file; an import stopped part-way says what it
committed, and sending the file again completes it with exact country counters."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

import c2r_common.db
from c2r_common.db import Database, claim_write_lock
from c2r_common.testing import ServiceUnderTest, app_on_fresh_database, asgi_client
from school_monitor.rollups.models import CountryStats
from school_monitor.schools.models import School

CHUNK = 50
CSV_HEADERS = {"Content-Type": "text/csv"}


def _csv(prefix: str, count: int, country: str = "RWA") -> str:
    rows = "".join(f"{prefix}-{n:06d},School {n},{country}\n" for n in range(count))
    return "school_id_giga,school_name,country_iso3_code\n" + rows


async def _committed(database: Database, prefix: str) -> int:
    async with database.sessionmaker() as session:
        count = select(func.count()).where(School.giga_id.like(f"{prefix}-%"))
        return int(await session.scalar(count) or 0)


async def _counters(database: Database, country: str) -> tuple[int, int]:
    async with database.sessionmaker() as session:
        stats = await session.get(CountryStats, country)
        return (stats.schools_total, stats.unknown) if stats else (0, 0)


async def _until_committed(database: Database, prefix: str, at_least: int = 1) -> int:
    for _ in range(2_000):
        committed = await _committed(database, prefix)
        if committed >= at_least:
            return committed
        await asyncio.sleep(0.005)
    raise AssertionError("the import committed nothing")


@asynccontextmanager
async def _writers_held_off(database: Database) -> AsyncIterator[None]:
    """Holds, from another session, the lock every writer of schools needs: SQLite's write
    lock; on PostgreSQL a SHARE lock on the table (reads go on, inserts wait)."""
    async with database.sessionmaker() as holder:
        if database.engine.dialect.name == "sqlite":
            await _claim_patiently(holder)
        else:
            await holder.execute(text("LOCK TABLE schools IN SHARE MODE"))
        try:
            yield
        finally:
            await holder.rollback()


async def _claim_patiently(session: Any) -> None:
    for _ in range(50):
        try:
            await claim_write_lock(session)
            return
        except OperationalError:
            await session.rollback()  # the import won the lock again; the next chunk
    raise AssertionError("never got the write lock between two chunks")


async def test_an_import_commits_chunk_by_chunk_with_exact_counters_after_each(
    service_under_test: ServiceUnderTest, tmp_path: Path, admin: dict[str, str]
) -> None:
    prefix, rows = f"chunk-{uuid.uuid4().hex[:6]}", 40 * CHUNK
    async with (
        app_on_fresh_database(service_under_test, tmp_path, import_chunk_rows=CHUNK) as app,
        asgi_client(app) as http,
    ):
        database: Database = app.state.database
        importing = asyncio.create_task(
            http.post("/v1/schools/import", content=_csv(prefix, rows), headers=admin | CSV_HEADERS)
        )
        await _until_committed(database, prefix)
        async with _writers_held_off(database):
            # The import is now between two chunks, or in one waiting for the lock.
            committed = await _committed(database, prefix)
            assert not importing.done()
            assert 0 < committed < rows
            assert committed % CHUNK == 0  # whole chunks only
            assert await _counters(database, "RWA") == (committed, committed)
            await asyncio.sleep(0.2)
            assert await _committed(database, prefix) == committed  # nothing meanwhile
        response = await importing
        assert response.status_code == 200, response.text
        report = response.json()
        assert (report["rows"], report["created"], report["updated"]) == (rows, rows, 0)
        assert report["committed_through_line"] == rows + 1
        assert await _counters(database, "RWA") == (rows, rows)


async def test_a_push_during_a_large_import_is_answered_before_the_import_ends(
    service_under_test: ServiceUnderTest, tmp_path: Path, admin: dict[str, str], measurement: Any
) -> None:
    prefix, rows = f"big-{uuid.uuid4().hex[:6]}", 20_000
    async with (
        app_on_fresh_database(service_under_test, tmp_path, import_chunk_rows=500) as app,
        asgi_client(app) as http,
    ):
        database: Database = app.state.database
        # An RWA school: its push writes the country counters every import chunk writes too.
        school = {"giga_id": f"push-{uuid.uuid4().hex[:8]}", "name": "GS", "country_iso3": "RWA"}
        school_id = (await http.post("/v1/schools", json=school, headers=admin)).json()["id"]
        importing = asyncio.create_task(
            http.post("/v1/schools/import", content=_csv(prefix, rows), headers=admin | CSV_HEADERS)
        )
        await _until_committed(database, prefix)
        push = await http.post("/v1/measurements", json=measurement(school_id), headers=admin)
        assert push.status_code == 201, push.text
        pushed_while_importing = not importing.done()
        committed_when_pushed = await _committed(database, prefix)
        response = await importing
    assert response.status_code == 200, response.text
    assert response.json()["created"] == rows
    assert pushed_while_importing
    assert committed_when_pushed < rows


async def _import_backend_waiting_for_a_lock(database: Database) -> int:
    for _ in range(1_000):
        # A session of its own each time: within a transaction PostgreSQL keeps serving
        # the first snapshot of pg_stat_activity it read.
        async with database.sessionmaker() as session:
            pid = await session.scalar(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            )
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.01)
    raise AssertionError("the import never waited for the lock")


async def _break_the_waiting_chunk(database: Database) -> None:
    """PostgreSQL: the waiting chunk's connection is terminated. SQLite: the chunk's claim
    of the write lock runs out of its (shortened) busy timeout."""
    if database.engine.dialect.name == "sqlite":
        await asyncio.sleep(0.5)
        return
    pid = await _import_backend_waiting_for_a_lock(database)
    async with database.sessionmaker() as session:
        await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


async def test_an_import_stopped_part_way_says_what_it_committed_and_a_resend_completes_it(
    service_under_test: ServiceUnderTest,
    tmp_path: Path,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SQLite: a lock not obtained within 100 ms fails the chunk (5 s, six times, in service).
    monkeypatch.setattr(c2r_common.db, "SQLITE_BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(c2r_common.db, "_WRITE_LOCK_ATTEMPTS", 1)
    # Enough chunks that the import is still running when the writers are held off, even
    # on a loaded machine (PostgreSQL commits a chunk in milliseconds).
    prefix, rows = f"stop-{uuid.uuid4().hex[:6]}", 400 * CHUNK
    body = _csv(prefix, rows)
    async with (
        app_on_fresh_database(service_under_test, tmp_path, import_chunk_rows=CHUNK) as app,
        asgi_client(app) as http,
    ):
        database: Database = app.state.database
        importing = asyncio.create_task(
            http.post("/v1/schools/import", content=body, headers=admin | CSV_HEADERS)
        )
        await _until_committed(database, prefix)
        async with _writers_held_off(database):
            await _break_the_waiting_chunk(database)
            stopped = await importing
        committed = await _committed(database, prefix)
        assert stopped.status_code == 503, stopped.text
        assert stopped.headers["Retry-After"] == "1"
        problem = stopped.json()
        assert problem["type"].endswith("/import-stopped")
        assert problem["committed_rows"] == committed
        assert 0 < committed < rows
        report = problem["report"]
        assert (report["created"], report["rows"]) == (committed, committed)
        assert report["committed_through_line"] == committed + 1
        assert f"{committed} rows committed" in problem["detail"]
        assert await _counters(database, "RWA") == (committed, committed)

        again = await http.post("/v1/schools/import", content=body, headers=admin | CSV_HEADERS)
        assert again.status_code == 200, again.text
        assert (again.json()["created"], again.json()["updated"]) == (rows - committed, committed)
        assert await _committed(database, prefix) == rows
        assert await _counters(database, "RWA") == (rows, rows)


async def test_a_line_that_cannot_be_read_stops_the_import_with_422_after_the_chunks_before(
    service_under_test: ServiceUnderTest, tmp_path: Path, admin: dict[str, str]
) -> None:
    prefix, good = f"long-{uuid.uuid4().hex[:6]}", 3 * CHUNK
    # A field over the csv module's limit (131,072 characters) after three whole chunks.
    body = _csv(prefix, good) + f"{prefix}-long,{'x' * 200_000},RWA\n"
    async with (
        app_on_fresh_database(service_under_test, tmp_path, import_chunk_rows=CHUNK) as app,
        asgi_client(app) as http,
    ):
        response = await http.post("/v1/schools/import", content=body, headers=admin | CSV_HEADERS)
        problem = response.json()
        assert response.status_code == 422, response.text
        assert problem["type"].endswith("/import-stopped")
        assert "Retry-After" not in response.headers
        assert "field larger than field limit" in problem["detail"]
        assert problem["committed_rows"] == good == await _committed(app.state.database, prefix)
