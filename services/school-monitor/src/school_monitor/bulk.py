"""Set-based statements over many rows, run on the session's driver connection.

The ingestion path writes a row per school, per school-day and per measurement in every
transaction. SQLAlchemy's per-row parameter processing (type decorators, datetime
formatting, insertmanyvalues batching) costs more there than the database's own work, so
these statements take their rows in one parameter per column (PostgreSQL `unnest`) or
one JSON array (SQLite `json_each`), with values already in the form the ORM stores them
in. `test_bulk` reads what they write back through the ORM.

A statement names its rows `t` in its text, where `{rows}` stands for the relation, and
`{least}` and `{greatest}` for the dialect's two-argument min and max:

    UPDATE schools SET name = t.name FROM {rows} WHERE schools.id = t.id
"""

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from school_monitor.upsert import dialect_name

Columns = dict[str, list[Any]]


def sqlite_uuid(value: uuid.UUID | None) -> str | None:
    """SQLAlchemy's Uuid on SQLite: 32 hex digits."""
    return None if value is None else value.hex


def sqlite_datetime(value: datetime | None) -> str | None:
    """SQLAlchemy's DateTime on SQLite, for a UTC datetime: 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    return None if value is None else value.isoformat(" ", "microseconds")[:26]


def sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def as_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


# How a value of each PostgreSQL type is passed, where Python's own form will not do.
SQLITE_FORMS = {
    "uuid": sqlite_uuid,
    "timestamptz": sqlite_datetime,
    "date": sqlite_date,
    "json": as_json,
}
POSTGRESQL_FORMS = {"json": as_json}


def forms(dialect: str) -> dict[str, Any]:
    return POSTGRESQL_FORMS if dialect == "postgresql" else SQLITE_FORMS


def converted(dialect: str, column_types: dict[str, str], columns: Columns) -> list[list[Any]]:
    """The columns in the order of `column_types`, each value in the dialect's form."""
    by_type = forms(dialect)
    result = []
    for name, kind in column_types.items():
        form = by_type.get(kind)
        result.append(columns[name] if form is None else list(map(form, columns[name])))
    return result


async def driver_connection(db: AsyncSession) -> Any:
    """asyncpg's or aiosqlite's connection under the session, in its transaction."""
    connection = await db.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None  # a pooled connection that is checked out
    return driver


@dataclass(frozen=True)
class BulkStatement:
    """A statement over rows given column by column, each column with its PostgreSQL type."""

    template: str
    column_types: dict[str, str]

    def text(self, dialect: str) -> str:
        if dialect == "postgresql":
            return self.template.format(
                rows=self._relation(dialect), least="least", greatest="greatest"
            )
        return self.template.format(rows=self._relation(dialect), least="min", greatest="max")

    def _relation(self, dialect: str) -> str:
        names = ", ".join(self.column_types)
        if dialect == "postgresql":
            arrays = ", ".join(f"${n}::{t}[]" for n, t in enumerate(self.column_types.values(), 1))
            return f"unnest({arrays}) AS t({names})"
        values = ", ".join(
            f"json_extract(value, '$[{n}]') AS {name}" for n, name in enumerate(self.column_types)
        )
        return f"(SELECT {values} FROM json_each(?)) AS t"

    async def fetch(self, db: AsyncSession, columns: Columns) -> list[Any]:
        """Runs the statement; the rows it returns (RETURNING), values in the dialect's form."""
        dialect = dialect_name(db)
        driver = await driver_connection(db)
        values = converted(dialect, self.column_types, columns)
        if dialect == "postgresql":
            return list(await driver.fetch(self.text(dialect), *values))
        rows = json.dumps(list(zip(*values, strict=True)))
        cursor = await driver.execute(self.text(dialect), (rows,))
        return list(await cursor.fetchall())
