"""Background work that runs once across the replicas of a service sharing one database.

Two tools, for two questions:

- `run_alone`: "may I run this round now?" One transaction holds a transaction-level
  advisory lock (PostgreSQL) keyed by the work's name, in the same session that does the
  work: the lock ends with the transaction, at commit, at rollback, or when the process or
  its connection dies, so a crashed replica can never leave the work locked.
- `Leadership`: "am I the replica that exports the database-wide gauges?" Rounds last
  milliseconds and seldom overlap, so every replica would win its own round and export
  the same values: summed over replicas, the gauges would double. One replica holds a
  session-level advisory lock on a connection of its own instead, for as long as that
  connection lives; the others find it taken and export nothing.

On SQLite (one file, served by one process) `run_alone` takes the database's write lock,
which serialises rounds even across engines on one file: a second round waits for the
first and then finds its work done. A SQLite process is always its own leader: two
processes serving one file would each export their gauges, which is why SQLite stays a
one-process topology.
"""

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from c2r_common.db import claim_write_lock

logger = logging.getLogger("c2r.singleton")
T = TypeVar("T")


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for `name` (the same in every process and
    release: Python's hash() is salted per process, a digest is not)."""
    digest = hashlib.sha256(f"c2r:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def try_lock_for_transaction(session: AsyncSession, name: str) -> bool:
    """Takes the lock of `name` until the session's transaction ends; False if another
    session holds it (PostgreSQL). On SQLite waits for the write lock and returns True."""
    if session.get_bind().dialect.name == "sqlite":
        await claim_write_lock(session)
        return True
    statement = text("SELECT pg_try_advisory_xact_lock(:key)")
    return bool(await session.scalar(statement, {"key": lock_key(name)}))


@dataclass(frozen=True)
class Round(Generic[T]):
    ran: bool  # False: another replica was running it
    result: T | None = None


async def run_alone(
    sessionmaker: async_sessionmaker[AsyncSession],
    name: str,
    work: Callable[[AsyncSession], Awaitable[T]],
) -> Round[T]:
    """Runs `work` in one transaction, committed, unless another replica is running the
    round of `name` at this moment (then nothing is done: that replica does it)."""
    async with sessionmaker() as session:
        if not await try_lock_for_transaction(session, name):
            await session.rollback()
            return Round(ran=False)
        result = await work(session)
        await session.commit()
    return Round(ran=True, result=result)


class Leadership:
    """Whether this process is the leader for `name` among the replicas of one database.

    `check()` is called once per round: it takes the lock if free, and otherwise proves,
    with one query on the lock's connection, that it is still held. A connection lost
    (terminated, database restarted) loses the leadership; the next check tries again.
    The server ends the lock's session when it stays idle past `idle_timeout_seconds`
    (PostgreSQL's idle_session_timeout), so a leader that stopped checking, or whose host
    vanished without closing its connection, hands over instead of holding on for ever.
    The connection is not from the app's pool (NullPool): it is held for the process's
    life, and one that carries the timeout must never serve a request.
    """

    def __init__(self, engine: AsyncEngine, name: str, idle_timeout_seconds: float) -> None:
        self.name = name
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.idle_timeout_ms = max(1000, int(idle_timeout_seconds * 1000))
        self._engine: AsyncEngine | None = None
        if not self.is_sqlite:
            self._engine = create_async_engine(engine.url, poolclass=NullPool)
        self._connection: AsyncConnection | None = None

    async def check(self) -> bool:
        if self._engine is None:
            return True
        try:
            if self._connection is not None:
                await self._connection.exec_driver_sql("SELECT 1")
                return True
            return await self._acquire(self._engine)
        except (DBAPIError, OSError):
            logger.warning("leadership of %s lost with its connection", self.name)
            await self.release()
            return False

    async def _acquire(self, engine: AsyncEngine) -> bool:
        # Autocommit: the connection rests idle between checks, never "idle in
        # transaction", so it pins no snapshot and idle_session_timeout applies.
        connection = await engine.connect()
        self._connection = connection
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql(f"SET idle_session_timeout = {self.idle_timeout_ms}")
        statement = text("SELECT pg_try_advisory_lock(:key)")
        if await connection.scalar(statement, {"key": lock_key(self.name)}):
            return True
        await self.release()
        return False

    async def release(self) -> None:
        """Gives the leadership up: closing the connection ends the lock's session."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.close()
        except Exception:  # already dead: its session, and the lock, are gone with it
            logger.debug("closing the leadership connection failed", exc_info=True)

    async def aclose(self) -> None:
        await self.release()
        if self._engine is not None:
            await self._engine.dispose()
