"""Transient database failures, caused for real, are classified transient and answered 503
with Retry-After by an app built the way the services build theirs (`build_app`).

Faults both databases have (a deadlock, a lock not obtained in time, an exhausted pool, a
unique violation) run on the suite's database. Those only a database server has (a
backend terminated mid-request, a statement timeout, a cancel, connections refused or
rejected, the raw asyncpg driver's errors) run on a PostgreSQL database of this module's
own in both passes.
"""

import asyncio
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from starlette.types import ASGIApp, Receive, Scope, Send

from c2r_common.app import ServiceSpec, build_app
from c2r_common.db import Database, SessionDep, create_engine
from c2r_common.errors import PROBLEM_JSON, PROBLEM_TYPE_BASE
from c2r_common.settings import ServiceSettings
from c2r_common.testing import pg_admin, pg_database_url, pg_server_url
from c2r_common.transient import is_retryable_conflict, is_transient, retry_on_conflict

SCHEMA = (
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
    "CREATE TABLE names (name VARCHAR(50) PRIMARY KEY)",
    "INSERT INTO accounts VALUES (1, 0), (2, 0)",
)
STEP_TIMEOUT = 10.0  # seconds: a step that hangs fails its test instead of the run
SHORT_WAIT_MS = 100  # deadlock_timeout, lock_timeout, busy_timeout, pool_timeout

Sessions = async_sessionmaker[AsyncSession]


# --- databases ------------------------------------------------------------------------


async def _create_schema(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        for statement in SCHEMA:
            await connection.execute(text(statement))
    await engine.dispose()


@pytest.fixture(scope="module")
async def pg_url() -> AsyncIterator[str]:
    """A PostgreSQL database of this module's own, where deadlocks are found after 100 ms."""
    name = f"c2r_test_transient_{uuid.uuid4().hex[:8]}"
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    deadlock_timeout = f"ALTER DATABASE \"{name}\" SET deadlock_timeout = '{SHORT_WAIT_MS}ms'"
    await pg_admin(drop, f'CREATE DATABASE "{name}"', deadlock_timeout)
    url = pg_database_url(name)
    await _create_schema(url)
    yield url
    await pg_admin(drop)


@pytest.fixture(scope="module")
async def url(backend: str, pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database of the suite's backend with the accounts and names tables."""
    if backend == "postgresql":
        return pg_url
    path = tmp_path_factory.mktemp("transient") / "faults.db"
    sqlite_url = f"sqlite+aiosqlite:///{path}"
    await _create_schema(sqlite_url)
    return sqlite_url


@pytest.fixture
async def sessions(url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture
async def pg_sessions(pg_url: str) -> AsyncIterator[Sessions]:
    engine = create_engine(pg_url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def _balances(url: str) -> dict[int, int]:
    engine = create_engine(url)
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT id, balance FROM accounts"))
        balances = {row.id: row.balance for row in rows}
    await engine.dispose()
    return balances


async def _raw_connect(url: str, user: str | None = None) -> asyncpg.Connection:
    parts = make_url(url)
    return await asyncpg.connect(
        host=parts.host,
        port=parts.port,
        user=user or parts.username,
        password=parts.password,
        database=parts.database,
    )


async def _terminate(pid: int) -> None:
    """Terminates PostgreSQL backend `pid` and waits until it is gone."""
    admin = await _raw_connect(pg_server_url())
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
        async with asyncio.timeout(STEP_TIMEOUT):
            gone = "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $1"
            while not await admin.fetchval(gone, pid):  # noqa: ASYNC110 - a query, no event
                await asyncio.sleep(0.01)
    finally:
        await admin.close()


# --- the work that runs into the faults -------------------------------------------------


async def _lock_row(session: AsyncSession, account_id: int) -> None:
    # PostgreSQL: a row lock held until the end of the transaction. SQLite: a read, which
    # pins the transaction's snapshot (SQLite locks the whole database, and only to write).
    for_update = " FOR UPDATE" if session.get_bind().dialect.name == "postgresql" else ""
    statement = f"SELECT balance FROM accounts WHERE id = :id{for_update}"
    await session.execute(text(statement), {"id": account_id})


async def _add_one(session: AsyncSession, account_id: int) -> None:
    statement = "UPDATE accounts SET balance = balance + 1 WHERE id = :id"
    await session.execute(text(statement), {"id": account_id})


async def crossed_transfer(
    session: AsyncSession, first: int, second: int, meet: asyncio.Barrier | None
) -> None:
    """Locks `first`, waits at `meet` for the other side to lock its own, writes `second`.

    Two of them crossed (1 then 2, 2 then 1) deadlock on PostgreSQL; on SQLite the second
    writer finds its snapshot stale once the first commits (SQLITE_BUSY_SNAPSHOT).
    """
    await _lock_row(session, first)
    if meet is not None:
        async with asyncio.timeout(STEP_TIMEOUT):
            await meet.wait()
    await _add_one(session, second)


async def _read_snapshot(session: AsyncSession) -> None:
    """Starts a transaction that reads account 1: on PostgreSQL at REPEATABLE READ, so
    that it may not then write over a change committed since (SQLite always refuses)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    await session.execute(text("SELECT balance FROM accounts WHERE id = 1"))


async def _committed_add_one(sessions: Sessions, account_id: int) -> None:
    async with sessions() as session:
        await _add_one(session, account_id)
        await session.commit()


async def _wait_briefly_for_locks(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"SET LOCAL lock_timeout = '{SHORT_WAIT_MS}ms'"))
    else:
        await session.execute(text(f"PRAGMA busy_timeout = {SHORT_WAIT_MS}"))


@asynccontextmanager
async def row_lock_held(sessions: Sessions, account_id: int = 1) -> AsyncIterator[None]:
    """Another transaction holds account `account_id` (PostgreSQL: its row lock; SQLite:
    the database's write lock) until the block ends."""
    async with sessions() as holder:
        await _lock_row(holder, account_id)
        await _add_one(holder, account_id)
        yield
        await holder.rollback()


# --- the app, built like a service's ----------------------------------------------------


def _alembic_ini(folder: Path) -> Path:
    """An Alembic configuration without revisions (the readiness probe reads its heads)."""
    (folder / "migrations" / "versions").mkdir(parents=True, exist_ok=True)
    ini = folder / "alembic.ini"
    ini.write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    return ini


def _router() -> APIRouter:
    router = APIRouter()

    @router.post("/transfers/{first}/{second}")
    async def transfer(first: int, second: int, session: SessionDep, request: Request) -> None:
        await crossed_transfer(session, first, second, request.app.state.meet)

    @router.post("/accounts/{account_id}/touch")
    async def touch(account_id: int, session: SessionDep) -> None:
        await _wait_briefly_for_locks(session)
        await _add_one(session, account_id)

    @router.get("/accounts/{account_id}")
    async def balance(account_id: int, session: SessionDep) -> int:
        statement = text("SELECT balance FROM accounts WHERE id = :id")
        value: int = (await session.execute(statement, {"id": account_id})).scalar_one()
        return value

    @router.post("/names/{name}")
    async def add_name(name: str, session: SessionDep) -> None:
        await session.execute(text("INSERT INTO names VALUES (:name)"), {"name": name})

    @router.post("/terminated")
    async def terminated(session: SessionDep, request: Request) -> None:
        """Reports its backend, waits until the test has terminated it, then queries."""
        await _run_past_termination(session, request, raw=False)

    @router.post("/terminated/raw")
    async def terminated_raw(session: SessionDep, request: Request) -> None:
        """The same on the raw asyncpg connection, outside SQLAlchemy's error wrapping."""
        await _run_past_termination(session, request, raw=True)

    return router


async def _run_past_termination(session: AsyncSession, request: Request, *, raw: bool) -> None:
    state = request.app.state
    pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    state.backend_pid.set_result(pid)
    async with asyncio.timeout(STEP_TIMEOUT):
        await state.terminated.wait()
    if raw:
        driver = (await (await session.connection()).get_raw_connection()).driver_connection
        await driver.execute("SELECT 1")
    else:
        await session.execute(text("SELECT 1"))


def make_app(database_url: str, folder: Path) -> FastAPI:
    spec = ServiceSpec(
        name="transient-test",
        title="transient",
        description="an app built like the services' to answer database faults",
        version="0",
        alembic_ini=_alembic_ini(folder),
        routers=[_router()],
    )
    app = build_app(spec, ServiceSettings(database_url=database_url, environment="test"))
    app.state.meet = asyncio.Barrier(2)
    app.state.backend_pid = asyncio.get_running_loop().create_future()
    app.state.terminated = asyncio.Event()
    return app


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """`app` served by uvicorn on a loopback port, and a client of it over real TCP."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with asyncio.timeout(STEP_TIMEOUT):
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
                await asyncio.sleep(0.01)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            yield http
    finally:
        server.should_exit = True
        await serving
        listener.close()


def assert_retry_later(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == f"{PROBLEM_TYPE_BASE}retry"
    assert body["status"] == 503


def _closed_url(closed_port: int) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/nothing"


# --- answered 503 by the app --------------------------------------------------------------


async def test_deadlock_between_two_requests_is_503_for_the_loser(
    url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = await _balances(url)
    async with client_of(make_app(url, tmp_path)) as http:
        answers = await asyncio.gather(http.post("/transfers/1/2"), http.post("/transfers/2/1"))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 503], [answer.text for answer in answers]
    assert_retry_later(next(answer for answer in answers if answer.status_code == 503))
    assert any("transient database failure" in r.getMessage() for r in caplog.records)
    after = await _balances(url)
    assert sum(after.values()) == sum(before.values()) + 1  # the loser wrote nothing


async def test_lock_not_obtained_in_time_is_503(
    url: str, sessions: Sessions, tmp_path: Path
) -> None:
    async with client_of(make_app(url, tmp_path)) as http, row_lock_held(sessions):
        response = await http.post("/accounts/1/touch")
    assert_retry_later(response)


async def test_pool_exhausted_for_its_timeout_is_503(url: str, tmp_path: Path) -> None:
    app = make_app(url, tmp_path)
    database: Database = app.state.database
    await database.engine.dispose()
    database.engine = create_async_engine(
        url, pool_size=1, max_overflow=0, pool_timeout=SHORT_WAIT_MS / 1000
    )
    database.sessionmaker = async_sessionmaker(database.engine, expire_on_commit=False)
    async with client_of(app) as http:
        async with database.engine.connect() as held:
            await held.execute(text("SELECT 1"))
            response = await http.get("/accounts/1")
        assert_retry_later(response)
        assert (await http.get("/accounts/1")).status_code == 200  # once it is returned


async def test_unique_violation_stays_a_500_without_retry_after(url: str, tmp_path: Path) -> None:
    name = f"n-{uuid.uuid4().hex[:8]}"
    async with client_of(make_app(url, tmp_path)) as http:
        assert (await http.post(f"/names/{name}")).status_code == 200
        duplicate = await http.post(f"/names/{name}")
    assert duplicate.status_code == 500, duplicate.text
    assert "retry-after" not in duplicate.headers
    assert duplicate.json()["type"] == "about:blank"


async def test_backend_terminated_mid_request_is_503(pg_url: str, tmp_path: Path) -> None:
    app = make_app(pg_url, tmp_path)
    async with client_of(app) as http:
        request = asyncio.create_task(http.post("/terminated"))
        await _terminate(await app.state.backend_pid)
        app.state.terminated.set()
        assert_retry_later(await request)
        assert (await http.get("/accounts/1")).status_code == 200  # the pool recovers


async def test_backend_terminated_under_the_raw_driver_is_503(pg_url: str, tmp_path: Path) -> None:
    app = make_app(pg_url, tmp_path)
    async with client_of(app) as http:
        request = asyncio.create_task(http.post("/terminated/raw"))
        await _terminate(await app.state.backend_pid)
        app.state.terminated.set()
        assert_retry_later(await request)


async def test_database_refusing_connections_is_503_over_real_http(
    closed_port: int, tmp_path: Path
) -> None:
    async with served(make_app(_closed_url(closed_port), tmp_path)) as http:
        response = await http.get("/accounts/1")
    assert_retry_later(response)
    assert "retry the request" in response.json()["detail"]


class DatabaseTouchingMiddleware:
    """A middleware that opens a database connection before the app: its errors escape
    the app's exception handlers and reach Starlette's outermost ServerErrorMiddleware."""

    def __init__(self, app: ASGIApp, database_url: str) -> None:
        self.app = app
        self.engine = create_engine(database_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            async with self.engine.connect():
                pass
        await self.app(scope, receive, send)


async def test_failure_escaping_a_middleware_still_reaches_the_client_as_503(
    closed_port: int, tmp_path: Path
) -> None:
    app = make_app(_closed_url(closed_port), tmp_path)
    app.add_middleware(DatabaseTouchingMiddleware, database_url=_closed_url(closed_port))
    async with served(app) as http:
        response = await http.get("/healthz")
    assert_retry_later(response)


# --- the classifier, on the exceptions the real faults raise ------------------------------


async def _first_failure(*attempts: Awaitable[Any]) -> BaseException:
    async with asyncio.timeout(STEP_TIMEOUT):
        outcomes = await asyncio.gather(*attempts, return_exceptions=True)
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert len(failures) == 1, outcomes
    return failures[0]


async def _committed_transfer(sessions: Sessions, first: int, second: int, meet: Any) -> None:
    async with sessions() as session:
        await crossed_transfer(session, first, second, meet)
        await session.commit()


async def deadlock(sessions: Sessions) -> BaseException:
    """Two crossed transfers on PostgreSQL: the one the server picks fails with 40P01."""
    meet = asyncio.Barrier(2)
    return await _first_failure(
        _committed_transfer(sessions, 1, 2, meet), _committed_transfer(sessions, 2, 1, meet)
    )


async def serialization_failure(sessions: Sessions, _closed_port: int) -> BaseException:
    """A transaction reads, another commits a write, then the first writes: refused with
    40001 by PostgreSQL at REPEATABLE READ, with SQLITE_BUSY_SNAPSHOT by SQLite."""

    async def stale_write() -> None:
        async with sessions() as session:
            await _read_snapshot(session)
            await _committed_add_one(sessions, 1)
            await _add_one(session, 1)

    return await _first_failure(stale_write())


async def lock_timeout(sessions: Sessions, _closed_port: int) -> BaseException:
    async def touch() -> None:
        async with sessions() as session:
            await _wait_briefly_for_locks(session)
            await _add_one(session, 1)

    async with row_lock_held(sessions):
        return await _first_failure(touch())


async def pool_timeout(sessions: Sessions, _closed_port: int) -> BaseException:
    url = sessions.kw["bind"].url
    engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.05)
    try:
        async with engine.connect():
            return await _first_failure(engine.connect().start())
    finally:
        await engine.dispose()


async def refused(_sessions: Sessions, closed_port: int) -> BaseException:
    engine = create_engine(_closed_url(closed_port))
    try:
        return await _first_failure(engine.connect().start())
    finally:
        await engine.dispose()


async def unique_violation(sessions: Sessions, _closed_port: int) -> BaseException:
    async def insert(name: str) -> None:
        async with sessions() as session:
            await session.execute(text("INSERT INTO names VALUES (:name)"), {"name": name})
            await session.commit()

    name = f"u-{uuid.uuid4().hex[:8]}"
    await insert(name)
    return await _first_failure(insert(name))


Fault = Callable[[Sessions, int], Awaitable[BaseException]]


@pytest.mark.parametrize(
    ("fault", "transient", "conflict"),
    [
        (serialization_failure, True, True),
        (lock_timeout, True, False),
        (pool_timeout, True, False),
        (refused, True, False),
        (unique_violation, False, False),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
async def test_classifier_on_real_faults(
    fault: Fault, transient: bool, conflict: bool, sessions: Sessions, closed_port: int
) -> None:
    exc = await fault(sessions, closed_port)
    assert is_transient(exc) is transient, repr(exc)
    assert is_retryable_conflict(exc) is conflict, repr(exc)


async def test_serialization_failure_is_the_drivers_own_conflict(sessions: Sessions) -> None:
    exc = await serialization_failure(sessions, 0)
    assert isinstance(exc, DBAPIError)
    if isinstance(exc.orig, sqlite3.Error):
        assert exc.orig.sqlite_errorname == "SQLITE_BUSY_SNAPSHOT"
    else:
        assert isinstance(exc.orig.__cause__, asyncpg.SerializationError)
    assert is_retryable_conflict(exc.orig)


async def test_deadlock_is_a_conflict_raw_wrapped_and_chained(pg_sessions: Sessions) -> None:
    exc = await deadlock(pg_sessions)
    assert isinstance(exc, DBAPIError)
    assert is_transient(exc)
    assert is_retryable_conflict(exc)
    # SQLAlchemy's adapter error, caused by asyncpg's own: the raw one alone, and a later
    # error raised from the wrapped one, classify the same.
    raw = exc.orig.__cause__ if exc.orig is not None else None
    assert isinstance(raw, asyncpg.DeadlockDetectedError)
    assert is_transient(raw)
    assert is_retryable_conflict(raw)
    chained = RuntimeError("the group commit failed")
    chained.__cause__ = exc  # as `raise ... from exc` sets it
    assert is_transient(chained)
    assert is_retryable_conflict(chained)


async def test_an_error_only_raised_while_handling_a_transient_one_is_not_transient(
    sessions: Sessions,
) -> None:
    exc = await serialization_failure(sessions, 0)

    async def failing_while_handling() -> None:
        try:
            raise exc
        except DBAPIError:
            raise KeyError("a bug in the error path") from None

    unrelated = await _first_failure(failing_while_handling())
    assert unrelated.__context__ is exc
    assert not is_transient(unrelated)


async def test_exception_groups_are_transient_when_every_member_is(
    sessions: Sessions, closed_port: int
) -> None:
    transient_ones = [await lock_timeout(sessions, 0), await refused(sessions, closed_port)]
    other = await unique_violation(sessions, 0)
    assert is_transient(ExceptionGroup("both", transient_ones))
    assert not is_transient(ExceptionGroup("mixed", [*transient_ones, other]))


# --- PostgreSQL server faults -------------------------------------------------------------


async def _raw_statement_failure(pg_url: str, statements: list[str]) -> BaseException:
    connection = await _raw_connect(pg_url)
    try:
        for statement in statements[:-1]:
            await connection.execute(statement)
        return await _first_failure(connection.execute(statements[-1]))
    finally:
        await connection.close()


async def test_statement_timeout_is_transient_but_a_cancel_by_request_is_not(
    pg_url: str,
) -> None:
    timed_out = await _raw_statement_failure(
        pg_url, ["SET statement_timeout = '50ms'", "SELECT pg_sleep(5)"]
    )
    assert isinstance(timed_out, asyncpg.QueryCanceledError)
    assert is_transient(timed_out)

    connection = await _raw_connect(pg_url)
    try:
        pid = await connection.fetchval("SELECT pg_backend_pid()")
        sleeping = asyncio.create_task(connection.execute("SELECT pg_sleep(5)"))
        await asyncio.sleep(0.1)
        admin = await _raw_connect(pg_url)
        await admin.execute("SELECT pg_cancel_backend($1)", pid)
        await admin.close()
        cancelled = await _first_failure(sleeping)
    finally:
        await connection.close()
    assert isinstance(cancelled, asyncpg.QueryCanceledError)
    assert "user request" in str(cancelled)
    assert not is_transient(cancelled)


async def test_terminated_backend_is_transient_wrapped_or_raw(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        async with engine.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await _terminate(pid)
            wrapped = await _first_failure(connection.execute(text("SELECT 1")))
    finally:
        await engine.dispose()
    assert isinstance(wrapped, DBAPIError)
    assert wrapped.connection_invalidated
    assert is_transient(wrapped)
    assert not is_retryable_conflict(wrapped)

    # On the raw driver, the first statement after the termination meets the server's
    # FATAL message half-read ("another operation (2) is in progress") or the connection
    # already closed; every later one finds it closed.
    raw = await _raw_connect(pg_url)
    await _terminate(await raw.fetchval("SELECT pg_backend_pid()"))
    first = await _first_failure(raw.execute("SELECT 1"))
    later = await _first_failure(raw.execute("SELECT 1"))
    assert isinstance(first, asyncpg.InternalClientError | asyncpg.InterfaceError)
    assert is_transient(first)
    assert isinstance(later, asyncpg.InterfaceError)
    assert is_transient(later)


async def test_raw_driver_interface_errors_are_transient_only_for_an_unusable_connection(
    pg_url: str,
) -> None:
    connection = await _raw_connect(pg_url)
    sleeping = asyncio.create_task(connection.execute("SELECT pg_sleep(0.1)"))
    await asyncio.sleep(0)  # it now occupies the connection
    busy = await _first_failure(connection.execute("SELECT 1"))
    await sleeping
    misuse = await _first_failure(connection.fetch("SELECT $1::int"))  # no argument given
    await connection.close()
    closed = await _first_failure(connection.execute("SELECT 1"))

    assert isinstance(busy, asyncpg.InterfaceError)
    assert "another operation is in progress" in str(busy)
    assert is_transient(busy)
    assert isinstance(closed, asyncpg.InterfaceError)
    assert "connection is closed" in str(closed)
    assert is_transient(closed)
    assert isinstance(misuse, asyncpg.InterfaceError)
    assert not is_transient(misuse)


async def test_too_many_connections_is_transient(pg_url: str) -> None:
    role = f"c2r_test_limited_{uuid.uuid4().hex[:8]}"
    await pg_admin(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 0')
    try:
        rejected = await _first_failure(_raw_connect(pg_url, user=role))
    finally:
        await pg_admin(f'DROP ROLE "{role}"')
    assert isinstance(rejected, asyncpg.TooManyConnectionsError)
    assert is_transient(rejected)
    assert not is_retryable_conflict(rejected)


# --- retry_on_conflict ----------------------------------------------------------------------


class CountedTransfer:
    """A whole transaction in a session of its own; the first call meets the other side
    so that the two cross; every call is counted."""

    def __init__(self, sessions: Sessions, first: int, second: int, meet: asyncio.Barrier):
        self.sessions, self.first, self.second, self.meet = sessions, first, second, meet
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        meet = self.meet if self.calls == 1 else None
        await _committed_transfer(self.sessions, self.first, self.second, meet)
        return f"{self.first}->{self.second}"


async def test_retry_on_conflict_runs_a_deadlocked_transaction_again_and_succeeds(
    pg_url: str, pg_sessions: Sessions
) -> None:
    before = await _balances(pg_url)
    meet = asyncio.Barrier(2)
    one = CountedTransfer(pg_sessions, 1, 2, meet)
    other = CountedTransfer(pg_sessions, 2, 1, meet)
    async with asyncio.timeout(STEP_TIMEOUT):
        results = await asyncio.gather(retry_on_conflict(one), retry_on_conflict(other))
    assert results == ["1->2", "2->1"]
    assert sorted([one.calls, other.calls]) == [1, 2]  # the loser ran again, once
    after = await _balances(pg_url)
    assert after == {1: before[1] + 1, 2: before[2] + 1}  # its first run left nothing


class OvertakenOnFirstCall:
    """Adds one to account 1 after reading it; on the first call another transaction
    commits its own write in between."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self.calls = 0

    async def __call__(self) -> int:
        self.calls += 1
        async with self.sessions() as session:
            await _read_snapshot(session)
            if self.calls == 1:
                await _committed_add_one(self.sessions, 1)
            await _add_one(session, 1)
            await session.commit()
        return self.calls


async def test_retry_on_conflict_runs_a_transaction_again_after_a_serialization_failure(
    url: str, sessions: Sessions
) -> None:
    before = await _balances(url)
    work = OvertakenOnFirstCall(sessions)
    assert await retry_on_conflict(work) == 2
    assert (await _balances(url))[1] == before[1] + 2  # the other write and ours, once


async def test_retry_on_conflict_gives_up_after_its_attempts(sessions: Sessions) -> None:
    conflict = await serialization_failure(sessions, 0)
    calls: list[None] = []

    async def always_conflicting() -> None:
        calls.append(None)
        raise conflict

    with pytest.raises(DBAPIError) as raised:
        await retry_on_conflict(always_conflicting, attempts=3, base_delay=0.001)
    assert raised.value is conflict
    assert len(calls) == 3


@pytest.mark.parametrize("fault", [unique_violation, lock_timeout], ids=lambda f: f.__name__)
async def test_retry_on_conflict_does_not_retry_other_failures(
    fault: Fault, sessions: Sessions
) -> None:
    failure = await fault(sessions, 0)
    calls: list[None] = []

    async def failing() -> None:
        calls.append(None)
        raise failure

    with pytest.raises(type(failure)):
        await retry_on_conflict(failing)
    assert len(calls) == 1


async def test_retry_on_conflict_needs_at_least_one_attempt() -> None:
    async def never_called() -> None:
        raise AssertionError("called")

    with pytest.raises(ValueError, match="at least 1"):
        await retry_on_conflict(never_called, attempts=0)
