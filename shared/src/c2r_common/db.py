"""Async SQLAlchemy setup: engines for SQLite and PostgreSQL, one session per request."""

import asyncio
import logging
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, nullcontext, suppress
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Any, ClassVar

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import AdaptedConnection, Connection, Dialect, Engine, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so Alembic migrations are identical on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 5_000

logger = logging.getLogger("c2r.db")


def new_metadata() -> MetaData:
    """A MetaData for one service's tables, with the shared naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored in UTC on every database.

    SQLite has no timezone type and would hand back naive values; this keeps the
    contract "aware in, aware UTC out" identical on both databases.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _configure_sqlite(
    dbapi_connection: Any, _record: ConnectionPoolEntry, *, wal_autocheckpoint: bool = True
) -> None:
    # Python's sqlite3 driver defers BEGIN until the first write and never emits it before a
    # SAVEPOINT, so savepoints (begin_nested) and the per-test rollback would not work. The
    # driver is put in autocommit mode and SQLAlchemy emits BEGIN itself (_begin_sqlite),
    # as SQLAlchemy documents for pysqlite/aiosqlite.
    dbapi_connection.isolation_level = None
    # WAL lets readers run beside the single writer; foreign keys are off by default in
    # SQLite; the busy timeout makes concurrent writers wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    if not wal_autocheckpoint:
        cursor.execute("PRAGMA wal_autocheckpoint=0")  # WalCheckpointer does it instead
    cursor.close()


# aiosqlite runs every call in a thread of its own connection, and a statement through
# SQLAlchemy's cursor takes three such trips (open, execute, close), each of them a wait
# for the event loop to come round. BEGIN, the write-lock claim and the pool's reset are
# part of every write transaction, so they take one trip or none.


def _begin_sqlite(connection: Connection) -> None:
    driver = connection.connection.dbapi_connection
    assert isinstance(driver, AdaptedConnection)
    driver.run_async(lambda aiosqlite_connection: aiosqlite_connection.execute("BEGIN"))


def _reset_sqlite(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
    """The pool's reset of a returned connection: a rollback, unless SQLite (asked
    directly, without a trip) says no transaction is open, as after a commit."""
    if state.asyncio_safe and dbapi_connection.driver_connection.in_transaction:
        dbapi_connection.rollback()


_AFTER_COMMIT = "c2r_after_commit"


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Runs `callback` once the session's transaction has committed, and never if it is
    rolled back: for what must count only committed work (metrics, caches), and not again
    when a transaction that failed is run once more."""
    callbacks: list[Callable[[], None]] | None = session.info.get(_AFTER_COMMIT)
    if callbacks is None:
        callbacks = session.info[_AFTER_COMMIT] = []
        event.listen(session.sync_session, "after_commit", _run_after_commit)
        event.listen(session.sync_session, "after_soft_rollback", _drop_after_commit)
    callbacks.append(callback)


def _run_after_commit(session: Any) -> None:
    callbacks = session.info[_AFTER_COMMIT]
    pending, callbacks[:] = list(callbacks), []
    for callback in pending:
        callback()


def _drop_after_commit(session: Any, previous_transaction: Any) -> None:
    if not previous_transaction.nested:  # a savepoint rolled back leaves the rest pending
        session.info[_AFTER_COMMIT].clear()


def ensure_sqlite_folder(url: str) -> None:
    if not url.startswith("sqlite"):
        return
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


# A pooled connection returned this recently is taken as alive without a check. SQLAlchemy's
# pool_pre_ping checks on every checkout, which with asyncpg is three round trips (BEGIN, a
# query, ROLLBACK): on a busy service more than a small request's own work. A connection
# idle for longer (where a server restart or an idle timeout would show) is still checked,
# and replaced if dead; as in HikariCP's aliveBypassWindowMs.
ALIVE_WITHOUT_CHECK_SECONDS = 1.0


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    alive_without_check: float = ALIVE_WITHOUT_CHECK_SECONDS,
    wal_autocheckpoint: bool = True,
) -> AsyncEngine:
    """An async engine for `url`, with the per-database settings the services rely on.

    `wal_autocheckpoint=False` leaves SQLite's checkpoints to a WalCheckpointer.
    """
    if url.startswith("sqlite"):
        ensure_sqlite_folder(url)
        engine = create_async_engine(url, pool_reset_on_return=None)  # see _reset_sqlite
        configure = partial(_configure_sqlite, wal_autocheckpoint=wal_autocheckpoint)
        event.listen(engine.sync_engine, "connect", configure)
        event.listen(engine.sync_engine, "begin", _begin_sqlite)
        event.listen(engine.sync_engine.pool, "reset", _reset_sqlite)
        return engine
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
    pool = engine.sync_engine.pool
    event.listen(pool, "checkin", _note_checkin)
    event.listen(pool, "checkout", partial(_check_if_idle, alive_without_check))
    return engine


def _note_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _check_if_idle(
    alive_without_check: float, dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any
) -> None:
    idle_since = record.info.get("checked_in_at")
    if idle_since is None or time.monotonic() - idle_since <= alive_without_check:
        return  # new, or in use a moment ago
    try:
        dbapi_connection.ping()
    except Exception as exc:
        # The pool discards the connection and checks out another (a fresh one if need be).
        raise DisconnectionError("a pooled connection was found dead") from exc


# A write that changes nothing, on the table every service's database has.
_NO_OP_WRITE = "UPDATE alembic_version SET version_num = version_num WHERE 1 = 0"
_WRITE_LOCK_ATTEMPTS = 6  # each waits the connection's busy timeout
# session.info: the transaction that holds the write lock, its queue, and whether the
# session's listener that leaves the queue is installed.
_WRITE_LOCK_HELD_BY = "c2r_write_lock_held_by"
_WRITE_QUEUE = "c2r_write_queue"
_LEAVES_QUEUE = "c2r_leaves_write_queue"


async def claim_write_lock(session: AsyncSession) -> None:
    """On SQLite, takes the database's write lock now, before the transaction reads.

    A deferred SQLite transaction that reads and then writes cannot upgrade its stale
    snapshot if another writer committed meanwhile: it fails at once with "database is
    locked" instead of waiting. A write statement first makes it wait for the lock like
    BEGIN IMMEDIATE. PostgreSQL needs nothing of the kind.

    Within a process the claimants queue for the lock in arrival order (`_WriterQueue`) and
    hold their place until their transaction ends.
    """
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return
    connection = await session.connection()
    transaction = session.sync_session.get_transaction()  # what the session's events name
    assert transaction is not None  # begun by session.connection()
    if session.info.get(_WRITE_LOCK_HELD_BY) is transaction:
        return  # claimed already in this transaction (an idempotent create, then its effect)
    await _WriterQueue.of(bind.engine).join(session, transaction)
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    for attempt in range(_WRITE_LOCK_ATTEMPTS):
        try:
            await driver.execute(_NO_OP_WRITE)  # one trip to aiosqlite's thread, not three
            return
        except sqlite3.OperationalError as exc:
            # Nothing was written yet, so waiting again is safe: a writer of another
            # process, outside the queue, can hold the lock past one busy timeout.
            if "locked" not in str(exc) or attempt == _WRITE_LOCK_ATTEMPTS - 1:
                # As SQLAlchemy would have raised it: a lock not obtained is answered 503.
                raise OperationalError(_NO_OP_WRITE, None, exc) from exc


class _WriterQueue:
    """The writers of one SQLite database in this process, served in arrival order.

    SQLite's busy handler polls: a writer that commits and claims again at once (the next
    chunk of a CSV import, the next group commit) would win the lock back from writers
    that have waited for a while, again and again. An asyncio.Lock hands the lock on in
    arrival order instead; its place is held from the claim until the claiming
    transaction ends (commit, rollback or close). Writers of other processes meet only
    SQLite's own lock.
    """

    _queues: ClassVar["weakref.WeakKeyDictionary[Engine, _WriterQueue]"] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    @classmethod
    def of(cls, engine: Engine) -> "_WriterQueue":
        queue = cls._queues.get(engine)
        if queue is None:
            queue = cls._queues[engine] = cls()
        return queue

    async def join(self, session: AsyncSession, transaction: Any) -> None:
        """Waits for this session's turn, as long as SQLite's own lock would be waited for."""
        patience = _WRITE_LOCK_ATTEMPTS * SQLITE_BUSY_TIMEOUT_MS / 1000
        try:
            await asyncio.wait_for(self._lock.acquire(), patience)
        except TimeoutError as exc:
            locked = sqlite3.OperationalError("database is locked (writers queued before)")
            raise OperationalError(_NO_OP_WRITE, None, locked) from exc
        session.info[_WRITE_LOCK_HELD_BY] = transaction
        session.info[_WRITE_QUEUE] = self
        if not session.info.get(_LEAVES_QUEUE):
            session.info[_LEAVES_QUEUE] = True
            event.listen(session.sync_session, "after_transaction_end", _leave_writer_queue)

    def leave(self) -> None:
        self._lock.release()


def _leave_writer_queue(session: Any, transaction: Any) -> None:
    """The claiming transaction ended: the next writer's turn."""
    if session.info.get(_WRITE_LOCK_HELD_BY) is not transaction:
        return  # a savepoint, or a transaction that claimed nothing
    del session.info[_WRITE_LOCK_HELD_BY]
    session.info.pop(_WRITE_QUEUE).leave()


# SQLite copies its write-ahead log back into the database file (a checkpoint) once the
# log passes 1,000 pages, inside whichever commit crosses that line: under a steady stream
# of writes about one commit in seven then takes several milliseconds instead of a fraction
# of one, while the request waiting on it is held. A served process checkpoints from a
# thread of its own instead, which also leaves the event loop free meanwhile.
WAL_CHECKPOINT_INTERVAL_SECONDS = 0.25


class WalCheckpointer:
    """Checkpoints a SQLite database's WAL every `interval` seconds, in a worker thread.

    PASSIVE checkpoints never wait for, nor block, the readers and the writer; what a
    checkpoint cannot copy yet (pages a reader still needs) the next one does.
    """

    def __init__(self, url: str, interval: float = WAL_CHECKPOINT_INTERVAL_SECONDS) -> None:
        self.path = make_url(url).database
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "WalCheckpointer":
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task
        await self._checkpoint_in_thread()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self._checkpoint_in_thread()

    async def _checkpoint_in_thread(self) -> None:
        try:
            await asyncio.to_thread(self._checkpoint)
        except sqlite3.Error:
            # A busy or failing checkpoint loses nothing (the log keeps every page); the
            # next one, or the next process's first connection, tries again.
            logger.warning("WAL checkpoint failed", exc_info=True)

    def _checkpoint(self) -> None:
        connection = sqlite3.connect(str(self.path), timeout=0)
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            connection.close()


class Database:
    """An engine and its session factory, owned by one app.

    With `background_checkpoints`, SQLite's WAL checkpoints are left to the
    WalCheckpointer of `checkpoints()`, which the app runs for its lifetime.
    """

    def __init__(self, url: str, *, background_checkpoints: bool = False) -> None:
        self.url = url
        self.background_checkpoints = background_checkpoints and _is_sqlite_file(url)
        self.engine = create_engine(url, wal_autocheckpoint=not self.background_checkpoints)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    def checkpoints(self) -> AbstractAsyncContextManager[object]:
        if not self.background_checkpoints:
            return nullcontext()
        return WalCheckpointer(self.url)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _is_sqlite_file(url: str) -> bool:
    return url.startswith("sqlite") and make_url(url).database not in (None, "", ":memory:")


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed when the endpoint returns.

    Used with ``scope="function"`` so the commit happens before the response is sent:
    a client never receives an acknowledgement for a write that was not committed.
    """
    database: Database = request.app.state.database
    async with database.sessionmaker() as session:
        yield session
        await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
