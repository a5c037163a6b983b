"""Cursor encoding and keyset pagination over a real table (SQLite or PostgreSQL)."""

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Select, String, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from c2r_common.db import UTCDateTime, create_engine, new_metadata
from c2r_common.errors import ProblemError
from c2r_common.pagination import PageParams, decode_cursor, encode_cursor, paginate

BASE_TIME = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = new_metadata()


class Item(Base):
    __tablename__ = "pagination_items"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    name: Mapped[str] = mapped_column(String(50))


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
        await session.execute(delete(Item))
        await session.commit()
        yield session


async def _insert(session: AsyncSession, count: int, *, same_time_every: int = 3) -> None:
    # Groups of rows share a timestamp, so the id must break ties; ids are random, so their
    # order differs from the insertion order.
    session.add_all(
        Item(
            id=uuid.uuid4(),
            created_at=BASE_TIME + timedelta(seconds=index // same_time_every),
            name=f"item-{index}",
        )
        for index in range(count)
    )
    await session.commit()


async def _all_pages(
    session: AsyncSession, limit: int, statement: Select[tuple[Item]] | None = None
) -> list[list[Item]]:
    pages: list[list[Item]] = []
    cursor: str | None = None
    order = [Item.created_at, Item.id]
    while True:
        rows, cursor = await paginate(
            session,
            select(Item) if statement is None else statement,
            order,
            PageParams(limit=limit, cursor=cursor),
        )
        pages.append(rows)
        if cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not end"


def _key(item: Item) -> tuple[datetime, uuid.UUID]:
    return (item.created_at, item.id)


# Cursor encoding


def test_cursor_round_trip_keeps_values_and_types() -> None:
    when = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    ident = uuid.uuid4()
    values = ["név / ü+?", 42, when, ident, None, 1.5]
    decoded = decode_cursor(encode_cursor(values), len(values))
    assert decoded == values
    assert isinstance(decoded[2], datetime)
    assert decoded[2].tzinfo is not None
    assert decoded[2].utcoffset() == timedelta(0)
    assert isinstance(decoded[3], uuid.UUID)
    assert type(decoded[1]) is int


def test_cursor_keeps_a_non_utc_offset() -> None:
    when = datetime(2025, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5)))
    (decoded,) = decode_cursor(encode_cursor([when]), 1)
    assert decoded == when
    assert decoded.utcoffset() == timedelta(hours=-5)


def test_cursor_is_url_safe_and_unpadded() -> None:
    for count in range(1, 12):
        cursor = encode_cursor(["x" * count, "?>~" * count])
        assert set(cursor) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )


def _raw_cursor(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "%%%not base64%%%",
        "abc",
        base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(),
        _raw_cursor({"a": 1}),
        _raw_cursor("just a string"),
        _raw_cursor([1]),
        _raw_cursor([1, 2, 3]),
    ],
)
def test_malformed_cursor_is_a_422_on_query_cursor(cursor: str) -> None:
    with pytest.raises(ProblemError) as raised:
        decode_cursor(cursor, 2)
    error = raised.value
    assert error.status_code == 422
    assert error.problem_type == "validation"
    assert error.errors is not None
    assert [problem.field for problem in error.errors] == ["query.cursor"]


# paginate() over a real table


@pytest.mark.parametrize(("count", "limit"), [(23, 5), (20, 5), (7, 1), (4, 10), (0, 3)])
async def test_pages_concatenate_to_the_full_ordered_set(
    session: AsyncSession, count: int, limit: int
) -> None:
    await _insert(session, count)
    expected = sorted((await session.scalars(select(Item))).all(), key=_key)
    assert len(expected) == count

    pages = await _all_pages(session, limit)
    served = [item for page in pages for item in page]

    assert [_key(item) for item in served] == [_key(item) for item in expected]
    assert len({item.id for item in served}) == count
    assert all(len(page) <= limit for page in pages)
    assert all(len(page) == limit for page in pages[:-1])
    # No trailing empty page when the count is a multiple of the limit.
    assert len(pages) == max(1, -(-count // limit))


async def test_ties_on_created_at_are_broken_by_id(session: AsyncSession) -> None:
    await _insert(session, 12, same_time_every=12)  # every row has the same timestamp
    served = [item for page in await _all_pages(session, 5) for item in page]
    assert [item.id for item in served] == sorted(item.id for item in served)
    assert len({item.id for item in served}) == 12


async def test_next_cursor_encodes_the_last_row(session: AsyncSession) -> None:
    await _insert(session, 6)
    rows, cursor = await paginate(
        session, select(Item), [Item.created_at, Item.id], PageParams(limit=4, cursor=None)
    )
    assert cursor is not None
    assert decode_cursor(cursor, 2) == [rows[-1].created_at, rows[-1].id]


async def test_rows_inserted_between_pages_are_neither_repeated_nor_skipped(
    session: AsyncSession,
) -> None:
    await _insert(session, 10, same_time_every=1)
    order = [Item.created_at, Item.id]
    first, cursor = await paginate(session, select(Item), order, PageParams(limit=4, cursor=None))
    # One row before the cursor (already passed: not served), one after it (served).
    early = Item(id=uuid.uuid4(), created_at=BASE_TIME - timedelta(days=1), name="early")
    late = Item(id=uuid.uuid4(), created_at=BASE_TIME + timedelta(days=1), name="late")
    session.add_all([early, late])
    await session.commit()

    rest: list[Item] = []
    while cursor is not None:
        rows, cursor = await paginate(
            session, select(Item), order, PageParams(limit=4, cursor=cursor)
        )
        rest.extend(rows)
    served_ids = [item.id for item in first + rest]
    assert len(served_ids) == len(set(served_ids)) == 11
    assert late.id in served_ids
    assert early.id not in served_ids


async def test_paginate_respects_the_filter_of_the_statement(session: AsyncSession) -> None:
    await _insert(session, 15)
    statement = select(Item).where(Item.name.like("item-1%"))  # item-1, item-10..item-14
    served = [item.name for page in await _all_pages(session, 2, statement) for item in page]
    assert sorted(served) == sorted(["item-1", *(f"item-1{i}" for i in range(5))])


def _raw_cursor(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "document",
    [[{"$dt": "yesterday"}, 1], [{"$dt": 5}, 1], [{"$uuid": "not-a-uuid"}, 1]],
)
def test_cursor_with_a_malformed_tagged_value_is_a_422(document: object) -> None:
    with pytest.raises(ProblemError) as raised:
        decode_cursor(_raw_cursor(document), 2)
    assert raised.value.status_code == 422
    assert raised.value.errors is not None
    assert [problem.field for problem in raised.value.errors] == ["query.cursor"]


def test_dates_round_trip_through_cursors() -> None:
    assert decode_cursor(encode_cursor([date(2023, 5, 2)]), 1) == [date(2023, 5, 2)]


async def test_cursor_of_another_key_is_a_422_not_a_database_error(
    session: AsyncSession,
) -> None:
    await _insert(session, 3)
    foreign = encode_cursor(["abc", "def"])  # well formed, but not (created_at, id)
    with pytest.raises(ProblemError) as raised:
        await paginate(
            session, select(Item), [Item.created_at, Item.id], PageParams(limit=2, cursor=foreign)
        )
    assert raised.value.status_code == 422
