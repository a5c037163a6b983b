"""Faults caused for real in the middle of ingestion, on real commits: a batch held or
frozen in its transaction, its process SIGKILLed, a deadlock, connections terminated
under load. After each, `verify` (every derived value recomputed from the raw rows)
finds no difference, and no acknowledged write is lost or stored twice.

A batch is one transaction that locks its schools' rows first and writes its country's
rows (country_daily, then country_stats) last; the tests hold those rows from sessions of
their own to stop a batch there, between its first write and its commit.
"""

import asyncio
import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from service_process import (
    ADMIN,
    Ledger,
    ServiceProcess,
    admin_client,
    agents_of_new_schools,
    ago,
    assert_nothing_lost_or_doubled,
    assert_retry_later,
    count_stored,
    create_school,
    differences,
    measurement,
    pg_connect,
    poll,
    post_batch,
    running_app,
    service_processes,
    start_agents,
    stored_uuids,
    wait_until,
    wait_until_blocked_by,
)
from sqlalchemy.engine import make_url

from c2r_common.testing import fresh_database, pg_admin
from school_monitor.app import ALEMBIC_INI
from school_monitor.measurements.models import Measurement

SCHOOLS = 4
ITEMS_PER_SCHOOL = 25

# The sessions of the database other than the test's own monitor: the service's.
OTHER_CLIENTS = (
    "datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
)
LOCK_SCHOOL = "SELECT 1 FROM schools WHERE id = $1 FOR UPDATE"
LOCK_COUNTRY_DAY = "SELECT 1 FROM country_daily WHERE country_iso3 = $1 AND day = $2 FOR UPDATE"
LOCK_COUNTRY_STATS = "SELECT 1 FROM country_stats WHERE country_iso3 = $1 FOR UPDATE"


@pytest.fixture
async def own_database(tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database of the test's own (a file of its own on SQLite)."""
    async with fresh_database(ALEMBIC_INI, "faults", tmp_path) as url:
        yield url


class RowHolder:
    """A session of the test's own that takes row locks and keeps them until released.
    Its deadlock_timeout is long, so that in a deadlock with the service, the service's
    transaction is the one that finds it and is rolled back."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.transaction = connection.transaction()

    @classmethod
    async def open(cls, url: str) -> "RowHolder":
        holder = cls(await pg_connect(url, deadlock_timeout="60s"))
        await holder.transaction.start()
        return holder

    @property
    def pid(self) -> int:
        return int(self.connection.get_server_pid())

    async def lock(self, statement: str, *args: Any) -> None:
        assert await self.connection.fetchval(statement, *args) == 1, "no such row to lock"

    async def release(self) -> None:
        if not self.connection.is_closed():
            await self.transaction.rollback()
            await self.connection.close()


def moments() -> tuple[datetime, datetime]:
    """Two moments of one UTC day, a minute ago and shortly before."""
    later = ago(minutes=1)
    midnight = datetime.combine(later.date(), datetime.min.time(), UTC)
    return max(later - timedelta(seconds=30), midnight), later


async def seed(http: httpx.AsyncClient, at: datetime) -> tuple[list[str], list[dict[str, Any]]]:
    """Schools of Rwanda with a first batch, taken at `at`: their country's rows exist
    from then on."""
    schools = [await create_school(http) for _ in range(SCHOOLS)]
    first = [measurement(school, at, download=5.0) for school in schools]
    response = await post_batch(http, first)
    assert response.status_code == 200, response.text
    return schools, first


def later_batch(schools: list[str], at: datetime) -> list[dict[str, Any]]:
    """Items taken after the first batch at `at`: they change the schools' latest speed,
    and so the country's counters."""
    return [measurement(s, at, download=50.0) for s in schools for _ in range(ITEMS_PER_SCHOOL)]


async def daily_count(http: httpx.AsyncClient, schools: list[str]) -> int:
    total = 0
    for school in schools:
        response = await http.get(f"/v1/schools/{school}/daily", headers=ADMIN)
        assert response.status_code == 200, response.text
        total += sum(day["measurement_count"] for day in response.json())
    return total


async def has_written(monitor: asyncpg.Connection, pid: int) -> bool:
    """Whether the backend's transaction has written (a transaction id is assigned at the
    first write)."""
    query = "SELECT backend_xid IS NOT NULL FROM pg_stat_activity WHERE pid = $1"
    return bool(await monitor.fetchval(query, pid))


async def resend_and_check(app: FastAPI, schools: list[str], seeded: int, batch: list[Any]) -> None:
    """The agent sends the lost batch again: all of it is stored, with its rollups."""
    async with admin_client(app) as http:
        response = await post_batch(http, batch)
        assert response.status_code == 200, response.text
        assert response.json()["stored"] == len(batch)
        assert await daily_count(http, schools) == seeded + len(batch)
    assert await count_stored(app, (item["uuid"] for item in batch)) == len(batch)
    assert await differences(app) == []


# 1. Another session never sees part of a batch in flight.
@pytest.mark.postgresql_only
@pytest.mark.parametrize("held", ["country_daily", "country_stats"])
async def test_another_session_sees_nothing_of_a_batch_held_at_its_countrys_row(
    own_database: str, held: str
) -> None:
    async with running_app(own_database) as app, admin_client(app) as http:
        seeded_at, at = moments()
        schools, first = await seed(http, seeded_at)
        holder = await RowHolder.open(own_database)
        monitor = await pg_connect(own_database)
        try:
            if held == "country_daily":
                await holder.lock(LOCK_COUNTRY_DAY, "RWA", at.date())
            else:
                await holder.lock(LOCK_COUNTRY_STATS, "RWA")
            batch = later_batch(schools, at)
            sending = asyncio.create_task(post_batch(http, batch))
            blocked = await wait_until_blocked_by(monitor, holder.pid)
            assert await has_written(monitor, blocked)  # its rows are in, its commit is not
            assert await count_stored(app, (item["uuid"] for item in batch)) == 0
            assert len(await stored_uuids(app, Measurement)) == len(first)
            assert await daily_count(http, schools) == len(first)
            assert await differences(app) == []
            assert not sending.done()
        finally:
            await holder.release()
            await monitor.close()
        response = await sending
        assert response.status_code == 200, response.text
        assert response.json()["stored"] == len(batch)
        assert await count_stored(app, (item["uuid"] for item in batch)) == len(batch)
        assert await differences(app) == []


# 2. A batch stopped in its transaction, then its process SIGKILLed.
@pytest.mark.postgresql_only
async def test_a_batch_held_at_its_countrys_row_then_killed_stores_nothing_until_resent(
    own_database: str, tmp_path: Path
) -> None:
    async with (
        service_processes(own_database, tmp_path, background_interval_seconds="0") as [server],
        running_app(own_database) as app,
        httpx.AsyncClient(base_url=server.base_url, timeout=60) as http,
    ):
        seeded_at, at = moments()
        schools, first = await seed(http, seeded_at)
        holder = await RowHolder.open(own_database)
        monitor = await pg_connect(own_database)
        try:
            await holder.lock(LOCK_COUNTRY_DAY, "RWA", at.date())
            batch = later_batch(schools, at)
            sending = asyncio.create_task(post_batch(http, batch))
            blocked = await wait_until_blocked_by(monitor, holder.pid)
            assert await has_written(monitor, blocked)
            server.kill()
            with pytest.raises(httpx.TransportError):
                await sending  # never acknowledged
        finally:
            await holder.release()
        try:
            # Its backend finds the client gone once it has the row, and rolls back.
            await poll(lambda: backend_gone(monitor, blocked), "the killed process's backend")
        finally:
            await monitor.close()
        assert await count_stored(app, (item["uuid"] for item in batch)) == 0
        assert len(await stored_uuids(app, Measurement)) == len(first)
        assert await differences(app) == []
        await resend_and_check(app, schools, len(first), batch)


async def backend_gone(monitor: asyncpg.Connection, pid: int) -> bool:
    query = "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $1"
    return bool(await monitor.fetchval(query, pid))


# 1 and 2 on both databases: the service frozen (SIGSTOP) inside a batch's transaction,
# which on SQLite is the only way to stop a batch part-way (its transaction holds the
# database's write lock from its start, so a lock held from outside stops it before it).
class TransactionProbe:
    """Whether the service is inside a write transaction, seen from outside: on SQLite it
    holds the write lock; on PostgreSQL one of its backends has written and not ended."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite_path = make_url(url).database if url.startswith("sqlite") else None
        self.monitor: asyncpg.Connection | None = None

    async def __aenter__(self) -> "TransactionProbe":
        if self.sqlite_path is None:
            self.monitor = await pg_connect(self.url)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self.monitor is not None:
            await self.monitor.close()

    async def freeze_inside(self, server: ServiceProcess, within: float) -> bool:
        """Freezes the server as soon as it is inside a write transaction (within
        `within` s); whether it is frozen there (not just after its commit)."""
        if self.sqlite_path is not None:
            path = self.sqlite_path
            return await asyncio.to_thread(freeze_inside_sqlite_write, path, server, within)
        assert self.monitor is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            if await self._pg_writing(active_too=True):
                server.freeze()
                # A statement sent before the freeze may still run, a COMMIT among them:
                # wait for the backend to be idle, then see whether it is still in there.
                settled = await poll(self._pg_settled, "the frozen backend to settle")
                return bool(settled == "inside")
            await asyncio.sleep(0.001)
        return False

    async def _pg_writing(self, active_too: bool) -> bool:
        assert self.monitor is not None
        states = ["idle in transaction", "active"] if active_too else ["idle in transaction"]
        query = (
            f"SELECT count(*) FROM pg_stat_activity WHERE {OTHER_CLIENTS} "
            "AND backend_xid IS NOT NULL AND state = ANY($1)"
        )
        return bool(await self.monitor.fetchval(query, states))

    async def _pg_settled(self) -> str | None:
        assert self.monitor is not None
        query = (
            "SELECT count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE "
            "state = 'idle in transaction' AND backend_xid IS NOT NULL) FROM pg_stat_activity "
            f"WHERE {OTHER_CLIENTS}"
        )
        active, writing = await self.monitor.fetchrow(query)
        if active:
            return None
        return "inside" if writing else "outside"

    async def still_inside(self) -> bool:
        if self.sqlite_path is not None:
            return await asyncio.to_thread(sqlite_write_lock_held, self.sqlite_path)
        return await self._pg_writing(active_too=False)


def sqlite_write_lock_held(path: str) -> bool:
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as busy:
        if "locked" not in str(busy):
            raise
        return True
    finally:
        probe.close()


def freeze_inside_sqlite_write(path: str, server: ServiceProcess, within: float) -> bool:
    """Polls SQLite's write lock from this thread (no event loop between seeing it taken
    and the SIGSTOP) and freezes the server when another connection holds it."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if sqlite_write_lock_held(path):
            server.freeze()
            return sqlite_write_lock_held(path)
        time.sleep(0.0005)
    return False


FREEZE_ATTEMPTS = 10


async def test_a_batch_frozen_in_its_transaction_is_unseen_and_lost_whole_when_killed(
    own_database: str, tmp_path: Path
) -> None:
    async with (
        service_processes(own_database, tmp_path, background_interval_seconds="0") as [server],
        running_app(own_database) as app,
        httpx.AsyncClient(base_url=server.base_url, timeout=60) as http,
        TransactionProbe(own_database) as probe,
    ):
        seeded_at, at = moments()
        schools, first = await seed(http, seeded_at)
        acknowledged = len(first)
        for _ in range(FREEZE_ATTEMPTS):  # until the freeze falls inside a transaction
            batch = [measurement(s, at, download=50.0) for s in schools for _ in range(1000)]
            sending = asyncio.create_task(post_batch(http, batch))
            if await probe.freeze_inside(server, within=60):
                break
            server.process_continue()
            response = await sending
            assert response.status_code == 200, response.text
            acknowledged += len(batch)
        else:
            pytest.fail(f"no freeze fell inside a batch's transaction in {FREEZE_ATTEMPTS}")
        # Frozen part-way: another session sees none of the batch, and rollups that
        # agree with the rows it does see.
        assert await probe.still_inside()
        assert await count_stored(app, (item["uuid"] for item in batch)) == 0
        assert len(await stored_uuids(app, Measurement)) == acknowledged
        assert await differences(app) == []
        server.kill()
        with pytest.raises(httpx.TransportError):
            await sending
        if probe.monitor is not None:
            await poll(lambda: released(probe), "the killed process's transaction to end")
        assert await count_stored(app, (item["uuid"] for item in batch)) == 0
        assert len(await stored_uuids(app, Measurement)) == acknowledged
        assert await differences(app) == []
        await resend_and_check(app, schools, acknowledged, batch)


async def released(probe: TransactionProbe) -> bool:
    return not await probe.still_inside()


# 4. A real deadlock, the service's transaction its victim.
@pytest.fixture
async def short_deadlock_timeout(own_database: str) -> str:
    """The service's sessions look for a deadlock after 20 ms of waiting; the test's own
    after 60 s (RowHolder): in a deadlock between them, the service's is rolled back."""
    name = make_url(own_database).database
    await pg_admin(f"ALTER DATABASE \"{name}\" SET deadlock_timeout = '20ms'")
    return own_database


@dataclass
class DeadlockScene:
    url: str
    monitor: asyncpg.Connection
    school: uuid.UUID
    day: date

    async def make_the_service_a_victim(self, holder: RowHolder) -> RowHolder:
        """One deadlock, which the batch's transaction finds and is rolled back for.

        Before: the batch waits for (or will meet) `holder`'s locks. After: the returned
        holder has the school's row and the country's counters, and a new attempt of the
        batch waits for it at the school's row. The cycle: the batch holds the school's
        row and waits for the counters; the holder has them and waits for the school.
        """
        country_day = await RowHolder.open(self.url)
        await country_day.lock(LOCK_COUNTRY_DAY, "RWA", self.day)
        counters = await RowHolder.open(self.url)
        taking = asyncio.create_task(counters.lock(LOCK_COUNTRY_STATS, "RWA"))
        await holder.release()
        await taking
        # The batch runs to its country's daily row and waits there, its school locked.
        await wait_until_blocked_by(self.monitor, country_day.pid)
        taking = asyncio.create_task(counters.lock(LOCK_SCHOOL, self.school))
        await poll(lambda: self.is_waiting(counters.pid), "the counters' holder to wait")
        await country_day.release()  # the batch goes on to the counters: a deadlock
        await taking  # granted: the batch's transaction was rolled back, not this one
        return counters

    async def is_waiting(self, pid: int) -> bool:
        query = "SELECT cardinality(pg_blocking_pids($1)) > 0"
        return bool(await self.monitor.fetchval(query, pid))


@pytest.mark.postgresql_only
@pytest.mark.parametrize("deadlocks", [1, 3])
async def test_a_batch_deadlocked_is_run_again_or_answered_503_and_never_half_stored(
    short_deadlock_timeout: str, deadlocks: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = short_deadlock_timeout
    caplog.set_level(logging.INFO, logger="c2r.transient")
    async with running_app(url) as app, admin_client(app) as http:
        seeded_at, at = moments()
        schools, first = await seed(http, seeded_at)
        monitor = await pg_connect(url)
        scene = DeadlockScene(url, monitor, uuid.UUID(schools[0]), at.date())
        holder = await RowHolder.open(url)
        try:
            await holder.lock(LOCK_SCHOOL, scene.school)
            batch = later_batch(schools, at)
            sending = asyncio.create_task(post_batch(http, batch))
            await wait_until_blocked_by(monitor, holder.pid)  # at its start
            for _ in range(deadlocks):
                holder = await scene.make_the_service_a_victim(holder)
            if deadlocks < 3:  # the batch runs again, and waits for the holder
                await wait_until_blocked_by(monitor, holder.pid)
                assert not sending.done()
        finally:
            await holder.release()
            await monitor.close()
        response = await sending
        found = [
            r
            for r in caplog.records
            if r.name == "c2r.transient" and "deadlock detected" in r.getMessage()
        ]
        assert len(found) == min(deadlocks, 2), "every deadlock but the last is run again"
        if deadlocks < 3:
            assert response.status_code == 200, response.text
            assert response.json()["stored"] == len(batch)
            assert await count_stored(app, (item["uuid"] for item in batch)) == len(batch)
            assert await differences(app) == []
        else:
            assert_retry_later(response)
            assert await count_stored(app, (item["uuid"] for item in batch)) == 0
            assert len(await stored_uuids(app, Measurement)) == len(first)
            assert await differences(app) == []
            await resend_and_check(app, schools, len(first), batch)


# 5. Connections terminated under load.
TERMINATION_ROUNDS = 15
TERMINATE_EVERY_SECONDS = 0.2
TERMINATE_SERVICE_BACKENDS = (
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
    f"WHERE {OTHER_CLIENTS}"
)


@pytest.mark.postgresql_only
async def test_connections_terminated_under_load_lose_and_double_no_acknowledged_write(
    own_database: str,
) -> None:
    async with running_app(own_database) as app, admin_client(app) as http:
        ledger, stop = Ledger(), asyncio.Event()
        agents = await agents_of_new_schools(http, relays=2, devices=6)
        pushing = start_agents(http, stop, ledger, agents)
        monitor = await pg_connect(own_database)
        terminated = 0
        try:
            await wait_until(lambda: len(ledger.acknowledged) > 0, "a first ack")
            for _ in range(TERMINATION_ROUNDS):
                await asyncio.sleep(TERMINATE_EVERY_SECONDS)
                terminated += await monitor.fetchval(TERMINATE_SERVICE_BACKENDS)
        finally:
            stop.set()
            await monitor.close()
            await asyncio.gather(*pushing)
        assert terminated >= TERMINATION_ROUNDS  # every round found the service connected
        assert any(answer.status == 503 for answer in ledger.answers)
        assert ledger.acknowledged == ledger.sent  # each agent went on until acknowledged
        await assert_nothing_lost_or_doubled(app, ledger)


# 5 on both databases: every write held up for a while under load (SQLite's write lock
# taken by another connection, as a backup would; on PostgreSQL the country's tables
# locked by another session), the nearest SQLite has to an outage.
HOLD_SECONDS = 2.0  # below SQLite's busy timeout: the writes wait, then go through


@asynccontextmanager
async def writes_held(url: str) -> AsyncIterator[None]:
    if url.startswith("sqlite"):
        path = make_url(url).database
        assert path is not None
        holder = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        await asyncio.to_thread(holder.execute, "BEGIN IMMEDIATE")
        try:
            yield
        finally:
            await asyncio.to_thread(holder.execute, "ROLLBACK")
            holder.close()
        return
    session = await pg_connect(url)
    try:
        async with session.transaction():
            await session.execute("LOCK TABLE country_daily, country_stats IN EXCLUSIVE MODE")
            yield
    finally:
        await session.close()


async def test_writes_held_up_under_load_are_acknowledged_only_once_committed(
    own_database: str,
) -> None:
    loop = asyncio.get_running_loop()
    async with running_app(own_database) as app, admin_client(app) as http:
        ledger, stop = Ledger(), asyncio.Event()
        agents = await agents_of_new_schools(http, relays=2, devices=6)
        pushing = start_agents(http, stop, ledger, agents)
        try:
            await wait_until(lambda: len(ledger.acknowledged) > 50, "the load")
            async with writes_held(own_database):
                held_at = loop.time()
                await asyncio.sleep(HOLD_SECONDS)
                acknowledged_while_held = len(ledger.acknowledged)
                released_at = loop.time()
            await wait_until(
                lambda: len(ledger.acknowledged) > acknowledged_while_held,
                "an acknowledgement after the release",
            )
        finally:
            stop.set()
            await asyncio.gather(*pushing)
        # Nothing could commit while the writes were held: nothing sent then was
        # acknowledged before the release.
        early = [
            a
            for a in ledger.answers
            if a.status in {200, 201} and a.sent_at > held_at and a.answered_at < released_at
        ]
        assert early == []
        assert ledger.acknowledged == ledger.sent
        await assert_nothing_lost_or_doubled(app, ledger)
