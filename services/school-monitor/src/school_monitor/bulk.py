"""Set-based statements over many rows, in the session's transaction.

The ingestion path writes a row per school, per school-day and per measurement in every
transaction. SQLAlchemy's per-row parameter processing (type decorators, datetime
formatting, insertmanyvalues batching) costs more there than the database's own work, so
these statements take their rows in one parameter per column (PostgreSQL `unnest`) or
one JSON array (SQLite `json_each`), with values already in the form the ORM stores them
in. `test_bulk` reads what they write back through the ORM.

They run as driver-level SQL through the session's connection (`exec_driver_sql`): no
per-row processing, and still SQLAlchemy's transaction. asyncpg's transaction begins with
the first statement SQLAlchemy sends, so a statement sent to the asyncpg connection
directly would run and commit on its own. On SQLite, whose BEGIN SQLAlchemy emits when the
session's connection begins (c2r_common.db), the statements go to aiosqlite's connection
directly: one trip to its thread instead of three; its errors are raised as SQLAlchemy's,
like every other statement's (`sqlite_driver`).

A statement names its rows `t` in its text, where `{rows}` stands for the relation,
`{least}` and `{greatest}` for the dialect's two-argument min and max, and `{lock}` for
PostgreSQL's FOR NO KEY UPDATE (SQLite's transactions hold the whole database's lock):

    UPDATE schools SET name = t.name FROM {rows} WHERE schools.id = t.id

What a statement returns comes back in Python's types, as the ORM would give them.
"""

import json
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any

import pydantic_core
from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Float, Integer, String, Table, Uuid
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeDecorator, TypeEngine

from school_monitor.upsert import dialect_name

Columns = dict[str, list[Any]]
Form = Callable[[Any], Any]


def sqlite_uuid(value: uuid.UUID | None) -> str | None:
    """SQLAlchemy's Uuid on SQLite: 32 hex digits."""
    return None if value is None else value.hex


def sqlite_datetime(value: datetime | None) -> str | None:
    """SQLAlchemy's DateTime on SQLite, for a UTC datetime: 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    return None if value is None else value.isoformat(" ", "microseconds")[:26]


def sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def as_json(value: Any) -> str | None:
    # pydantic's serializer: a fifth of json.dumps's time on an agent's ~2 KB raw result,
    # and NaN written as null, which PostgreSQL's json takes (json.dumps writes NaN).
    return None if value is None else pydantic_core.to_json(value).decode()


def uuid_from_sqlite(value: str | None) -> uuid.UUID | None:
    return None if value is None else uuid.UUID(hex=value)


def datetime_from_sqlite(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def date_from_sqlite(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def bool_from_sqlite(value: int | None) -> bool | None:
    return None if value is None else bool(value)


# How a value of each PostgreSQL type is passed, where Python's own form will not do.
SQLITE_FORMS: dict[str, Form] = {
    "uuid": sqlite_uuid,
    "timestamptz": sqlite_datetime,
    "date": sqlite_date,
    "json": as_json,
}
POSTGRESQL_FORMS: dict[str, Form] = {"json": as_json}
# And how SQLite gives it back (asyncpg already returns Python's types).
SQLITE_RESULT_FORMS: dict[str, Form] = {
    "uuid": uuid_from_sqlite,
    "timestamptz": datetime_from_sqlite,
    "date": date_from_sqlite,
    "bool": bool_from_sqlite,
}


# The PostgreSQL type of each SQLAlchemy type the bulk statements' columns use, most
# specific first.
_POSTGRESQL_TYPES: tuple[tuple[type[TypeEngine[Any]], str], ...] = (
    (Uuid, "uuid"),
    (DateTime, "timestamptz"),  # every timestamp is UTCDateTime, timezone-aware
    (Date, "date"),
    (Boolean, "bool"),
    (Integer, "int4"),
    (Float, "float8"),
    (String, "text"),
    (JSON, "json"),
)


def postgresql_type(column: Column[Any]) -> str:
    kind: TypeEngine[Any] = column.type
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    for sqlalchemy_type, name in _POSTGRESQL_TYPES:
        if isinstance(kind, sqlalchemy_type):
            return name
    raise TypeError(f"{column}: no bulk form for {column.type!r}")


def column_types(table: Table, names: Iterable[str] | None = None) -> dict[str, str]:
    """The table's columns (or the named ones, in that order) with their PostgreSQL types:
    the column list of a bulk statement, taken from the ORM table, not written again."""
    columns = table.columns if names is None else [table.columns[name] for name in names]
    return {column.name: postgresql_type(column) for column in columns}


def forms(dialect: str) -> dict[str, Form]:
    return POSTGRESQL_FORMS if dialect == "postgresql" else SQLITE_FORMS


def converted(dialect: str, column_types: dict[str, str], columns: Columns) -> list[list[Any]]:
    """The columns in the order of `column_types`, each value in the dialect's form."""
    by_type = forms(dialect)
    result = []
    for name, kind in column_types.items():
        form = by_type.get(kind)
        result.append(columns[name] if form is None else list(map(form, columns[name])))
    return result


@asynccontextmanager
async def sqlite_driver(db: AsyncSession, statement: str) -> AsyncIterator[Any]:
    """aiosqlite's connection under the session, inside the transaction SQLAlchemy began;
    a failure of `statement` is raised as SQLAlchemy's error (a lock timeout is answered
    503 like any other)."""
    connection = await db.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None  # a pooled connection that is checked out
    try:
        yield driver
    except sqlite3.Error as failure:
        raise DBAPIError.instance(statement, None, failure, sqlite3.Error) from failure


@dataclass(frozen=True)
class BulkStatement:
    """A statement over rows given column by column, each column with its PostgreSQL type."""

    template: str
    column_types: dict[str, str]
    result_types: dict[str, str] = field(default_factory=dict)

    def text(self, dialect: str) -> str:
        return self._postgresql_text if dialect == "postgresql" else self._sqlite_text

    @cached_property
    def _postgresql_text(self) -> str:
        return self.template.format(
            rows=self._relation("postgresql"),
            least="least",
            greatest="greatest",
            lock=" FOR NO KEY UPDATE",
        )

    @cached_property
    def _sqlite_text(self) -> str:
        return self.template.format(
            rows=self._relation("sqlite"), least="min", greatest="max", lock=""
        )

    def _relation(self, dialect: str) -> str:
        names = ", ".join(self.column_types)
        if dialect == "postgresql":
            arrays = ", ".join(f"${n}::{t}[]" for n, t in enumerate(self.column_types.values(), 1))
            return f"unnest({arrays}) AS t({names})"
        values = ", ".join(
            f"json_extract(value, '$[{n}]') AS {name}" for n, name in enumerate(self.column_types)
        )
        return f"(SELECT {values} FROM json_each(?)) AS t"

    async def fetch(self, db: AsyncSession, columns: Columns) -> list[tuple[Any, ...]]:
        """Runs the statement; the rows it returns, with the columns of `result_types`."""
        dialect = dialect_name(db)
        values = converted(dialect, self.column_types, columns)
        statement = self.text(dialect)
        if dialect == "postgresql":
            connection = await db.connection()
            result = await connection.exec_driver_sql(statement, tuple(values))
            return [tuple(row) for row in result.all()] if result.returns_rows else []
        rows = json.dumps(list(zip(*values, strict=True)))
        async with sqlite_driver(db, statement) as driver:
            # One trip to aiosqlite's thread for the statement and its rows, not two.
            found = list(await driver.execute_fetchall(statement, (rows,)))
        return self._from_sqlite(found)

    def _from_sqlite(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        if not rows:
            return []
        columns: list[Any] = list(zip(*rows, strict=True))
        for n, kind in enumerate(self.result_types.values()):
            form = SQLITE_RESULT_FORMS.get(kind)
            if form is not None:
                columns[n] = list(map(form, columns[n]))
        return list(zip(*columns, strict=True))
