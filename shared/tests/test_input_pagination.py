"""Forged cursors are a 422 naming `query.cursor`, never a database error, on a real table
of the selected backend (SQLite or PostgreSQL, whose int4/int8 and text refuse more)."""

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import BigInteger, Integer, String, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from c2r_common.db import UTCDateTime, create_engine, new_metadata
from c2r_common.errors import ProblemError
from c2r_common.fields import INT32_MAX, INT64_MAX
from c2r_common.pagination import PageParams, decode_cursor, encode_cursor, paginate


class Base(DeclarativeBase):
    metadata = new_metadata()


class Row(Base):
    __tablename__ = "forged_cursor_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    serial: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


@pytest.fixture(scope="module")
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield engine
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        await session.execute(delete(Row))
        session.add_all(
            Row(id=i, serial=i, name=f"row-{i}", at=datetime(2026, 1, 1, i, tzinfo=UTC))
            for i in range(3)
        )
        await session.commit()
        yield session


def forged(raw: Any) -> str:
    text = raw if isinstance(raw, str) else json.dumps(raw)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


ORDERS = {
    "id": (Row.id,),
    "serial": (Row.serial,),
    "name": (Row.name,),
    "at": (Row.at, Row.id),
}
FORGED = [
    ("id", [2**64]),
    ("id", [INT32_MAX + 1]),
    ("id", [-(2**31) - 1]),
    ("id", [True]),
    ("id", [1.5]),
    ("id", ["1"]),
    ("serial", [INT64_MAX + 1]),
    ("serial", [2**64]),
    ("name", ["a\x00b"]),
    ("name", [7]),
    ("at", [{"$dt": "2026-01-01T00:00:00"}, 1]),  # naive, where the column is aware
    ("at", [{"$dt": "9999-12-31T23:59:59-23:59"}, 1]),  # past UTC's last year
    ("at", [{"$dt": 5}, 1]),
    ("at", [{"$uuid": 5}, 1]),
    ("at", [{"$date": "2026-13-01"}, 1]),
    ("id", "[" * 5000 + "]" * 5000),  # deeper than the JSON parser follows
    ("id", "not json"),
    ("id", {"a": 1}),
    ("id", []),
    ("id", [1, 2]),
]


@pytest.mark.parametrize(("order", "raw"), FORGED, ids=[repr(raw)[:40] for _, raw in FORGED])
async def test_a_forged_cursor_is_a_422_naming_the_cursor(
    session: AsyncSession, order: str, raw: Any
) -> None:
    with pytest.raises(ProblemError) as raised:
        await paginate(session, select(Row), ORDERS[order], PageParams(limit=2, cursor=forged(raw)))
    assert raised.value.status_code == 422
    assert [e.field for e in raised.value.errors or []] == ["query.cursor"]


async def test_garbage_that_is_not_base64_is_a_422(session: AsyncSession) -> None:
    with pytest.raises(ProblemError) as raised:
        await paginate(session, select(Row), (Row.id,), PageParams(limit=2, cursor="%%%*"))
    assert raised.value.status_code == 422


@pytest.mark.parametrize(
    ("order", "last"), [("id", INT32_MAX), ("id", -(2**31)), ("serial", INT64_MAX)]
)
async def test_a_cursor_at_the_edge_of_the_column_type_is_served(
    session: AsyncSession, order: str, last: int
) -> None:
    """The bounds are the column type's own: the last value it can hold still pages."""
    cursor = encode_cursor([last])
    rows, _ = await paginate(
        session, select(Row), ORDERS[order], PageParams(limit=5, cursor=cursor)
    )
    assert len(rows) == (3 if last < 0 else 0)


async def test_an_empty_cursor_is_the_first_page(session: AsyncSession) -> None:
    rows, next_cursor = await paginate(
        session, select(Row), (Row.id,), PageParams(limit=2, cursor="")
    )
    assert [r.id for r in rows] == [0, 1]
    assert next_cursor == encode_cursor([1])


def test_a_cursor_of_the_wrong_types_is_refused_where_types_are_given() -> None:
    assert decode_cursor(encode_cursor(["RWA"]), 1, types=(str,)) == ["RWA"]
    for values in ([5], [None], [True]):
        with pytest.raises(ProblemError):
            decode_cursor(encode_cursor(values), 1, types=(str,))
