"""Dialect-specific INSERT ... ON CONFLICT, the one construct SQLite and PostgreSQL share
but SQLAlchemy exposes per dialect."""

from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
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
