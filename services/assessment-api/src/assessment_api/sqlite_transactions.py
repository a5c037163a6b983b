"""Real transactions and savepoints on SQLite.

Python's sqlite3 driver (under aiosqlite) defers BEGIN until the first write and never
emits it before a SAVEPOINT, so a SAVEPOINT opened first becomes the outermost
transaction and its RELEASE commits. That breaks nested transactions (used to turn a
unique-constraint race into a 409 without losing the request's other work) and the
per-test rollback. SQLAlchemy's documented remedy: let the driver stay in autocommit mode
and emit BEGIN ourselves.
"""

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry


def _driver_autocommit(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None


def _emit_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def use_explicit_transactions(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite" or event.contains(engine.sync_engine, "begin", _emit_begin):
        return
    event.listen(engine.sync_engine, "connect", _driver_autocommit)
    event.listen(engine.sync_engine, "begin", _emit_begin)
