"""Dialect-specific INSERT ... ON CONFLICT, the one construct SQLite and PostgreSQL share
but SQLAlchemy exposes per dialect."""

from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def table_of(model: type[Any]) -> Table:
    """The Core table of a mapped class, for set-based statements without ORM overhead."""
    return cast(Table, model.__table__)


def dialect_insert(session: AsyncSession, table: Table) -> Any:
    """An insert of `table` that has `.on_conflict_do_nothing/update` and `.excluded`."""
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def is_postgresql(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


def lower_of(session: AsyncSession, stored: Any, incoming: Any) -> ColumnElement[Any]:
    """The smaller of two nullable values, ignoring NULL on either side."""
    smallest = func.least if is_postgresql(session) else func.min
    return func.coalesce(smallest(stored, incoming), stored, incoming)


def higher_of(session: AsyncSession, stored: Any, incoming: Any) -> ColumnElement[Any]:
    largest = func.greatest if is_postgresql(session) else func.max
    return func.coalesce(largest(stored, incoming), stored, incoming)
