"""Dialect-specific INSERT ... ON CONFLICT, the one construct SQLite and PostgreSQL share
but SQLAlchemy exposes per dialect."""

from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession


def table_of(model: type[Any]) -> Table:
    """The Core table of a mapped class, for set-based statements without ORM overhead."""
    return cast(Table, model.__table__)


def dialect_name(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def dialect_insert(dialect: str, table: Table) -> Any:
    """An insert of `table` that has `.on_conflict_do_nothing/update` and `.excluded`.

    Callers build their statements once per dialect (functools.cache): constructing an
    upsert with `.excluded` costs more than executing the cached compiled form.
    """
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def claim_writer(session: AsyncSession) -> None:
    """On SQLite, takes the database's write lock now, before the transaction reads.

    A deferred SQLite transaction that reads and then writes cannot upgrade its stale
    snapshot if another writer committed meanwhile: it fails at once with SQLITE_BUSY
    instead of waiting. A write statement first (one that changes nothing) makes it wait
    for the lock like BEGIN IMMEDIATE. PostgreSQL needs nothing of the kind.
    """
    if dialect_name(session) != "sqlite":
        return
    for attempt in range(WRITE_LOCK_ATTEMPTS):
        try:
            await session.execute(_NO_OP_WRITE)
            return
        except OperationalError as exc:
            # Nothing was written yet, so waiting again is safe: SQLite's busy handler is
            # not fair, and under a steady stream of writers one can wait past its timeout.
            if "locked" not in str(exc) or attempt == WRITE_LOCK_ATTEMPTS - 1:
                raise


WRITE_LOCK_ATTEMPTS = 6  # each waits the connection's busy timeout (5 s)


_NO_OP_WRITE = text("UPDATE country_stats SET schools_total = schools_total WHERE 1 = 0")


def lower_of(dialect: str, stored: Any, incoming: Any) -> ColumnElement[Any]:
    """The smaller of two nullable values, ignoring NULL on either side."""
    smallest = func.least if dialect == "postgresql" else func.min
    return func.coalesce(smallest(stored, incoming), stored, incoming)


def higher_of(dialect: str, stored: Any, incoming: Any) -> ColumnElement[Any]:
    largest = func.greatest if dialect == "postgresql" else func.max
    return func.coalesce(largest(stored, incoming), stored, incoming)
