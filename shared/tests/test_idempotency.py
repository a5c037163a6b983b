"""run_idempotent on a real idempotency_records table (SQLite or PostgreSQL)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import String, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from c2r_common.db import create_engine, new_metadata
from c2r_common.errors import ProblemError
from c2r_common.idempotency import (
    IdempotencyRecordMixin,
    IdempotentResult,
    fingerprint,
    run_idempotent,
)


class Base(DeclarativeBase):
    metadata = new_metadata()


class IdempotencyRecord(IdempotencyRecordMixin, Base):
    pass


class AlembicVersion(Base):
    """Every service database has it; claim_write_lock's no-op write targets it."""

    __tablename__ = "alembic_version"

    version_num: Mapped[str] = mapped_column(String(32), primary_key=True)


class Thing(Base):
    __tablename__ = "idempotency_things"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(50))


@pytest.fixture(scope="module")
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine: AsyncEngine = create_engine(db_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
    await engine.dispose()


class Creator:
    """A create() that inserts a Thing and counts its calls."""

    def __init__(self, session: AsyncSession, name: str) -> None:
        self.session = session
        self.name = name
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        thing = Thing(name=self.name)
        self.session.add(thing)
        await self.session.flush()
        return {"id": thing.id, "name": thing.name}


Run = Callable[..., Awaitable[tuple[IdempotentResult, Creator]]]


@pytest.fixture
def run(sessions: async_sessionmaker[AsyncSession]) -> Run:
    """Runs one create in its own committed transaction, like one request would."""

    async def call(
        *, key: str | None, payload: Any, scope: str = "things:alice", status_code: int = 201
    ) -> tuple[IdempotentResult, Creator]:
        async with sessions() as session:
            creator = Creator(session, str(payload.get("name", "?")))
            result = await run_idempotent(
                session,
                IdempotencyRecord,
                scope=scope,
                key=key,
                payload=payload,
                status_code=status_code,
                create=creator,
            )
            await session.commit()
        return result, creator

    return call


async def _things_named(sessions: async_sessionmaker[AsyncSession], name: str) -> int:
    async with sessions() as session:
        count = await session.scalar(select(func.count()).where(Thing.name == name))
        return int(count or 0)


def _key() -> str:
    return f"key-{uuid.uuid4()}"


async def test_first_call_creates_and_remembers(
    run: Run, sessions: async_sessionmaker[AsyncSession]
) -> None:
    key, name = _key(), f"n-{uuid.uuid4().hex[:8]}"
    result, creator = await run(key=key, payload={"name": name})
    assert creator.calls == 1
    assert result.replayed is False
    assert result.status_code == 201
    assert result.body["name"] == name
    assert isinstance(result.body["id"], str)  # JSON-encoded, like the response
    assert await _things_named(sessions, name) == 1
    async with sessions() as session:
        record = await session.get(IdempotencyRecord, ("things:alice", key))
    assert record is not None
    assert record.status_code == 201
    assert record.request_hash == fingerprint({"name": name})
    assert record.created_at.tzinfo is not None


async def test_same_key_and_body_replays_without_creating(
    run: Run, sessions: async_sessionmaker[AsyncSession]
) -> None:
    key, name = _key(), f"n-{uuid.uuid4().hex[:8]}"
    first, _ = await run(key=key, payload={"name": name, "size": 3})
    # Same body with the keys in another order: the same request.
    second, creator = await run(key=key, payload={"size": 3, "name": name}, status_code=200)
    assert creator.calls == 0
    assert second.replayed is True
    assert second.body == first.body
    assert second.status_code == first.status_code == 201
    assert await _things_named(sessions, name) == 1


async def test_same_key_with_another_body_is_a_422(
    run: Run, sessions: async_sessionmaker[AsyncSession]
) -> None:
    key, name = _key(), f"n-{uuid.uuid4().hex[:8]}"
    await run(key=key, payload={"name": name})
    with pytest.raises(ProblemError) as raised:
        await run(key=key, payload={"name": name + "-changed"})
    assert raised.value.status_code == 422
    assert raised.value.problem_type == "idempotency-key-reused"
    assert await _things_named(sessions, name) == 1
    assert await _things_named(sessions, name + "-changed") == 0


async def test_without_key_every_call_creates(
    run: Run, sessions: async_sessionmaker[AsyncSession]
) -> None:
    name = f"n-{uuid.uuid4().hex[:8]}"
    first, creator_1 = await run(key=None, payload={"name": name})
    second, creator_2 = await run(key=None, payload={"name": name})
    assert creator_1.calls == creator_2.calls == 1
    assert first.replayed is second.replayed is False
    assert first.body["id"] != second.body["id"]
    assert await _things_named(sessions, name) == 2


async def test_scopes_keep_keys_apart(run: Run, sessions: async_sessionmaker[AsyncSession]) -> None:
    key, name = _key(), f"n-{uuid.uuid4().hex[:8]}"
    alice, creator_a = await run(key=key, payload={"name": name}, scope="things:alice")
    bob, creator_b = await run(key=key, payload={"name": name}, scope="things:bob")
    assert creator_a.calls == creator_b.calls == 1
    assert alice.replayed is bob.replayed is False
    assert alice.body["id"] != bob.body["id"]
    assert await _things_named(sessions, name) == 2
    # Each scope replays its own response.
    again, creator = await run(key=key, payload={"name": name}, scope="things:bob")
    assert creator.calls == 0
    assert again.body == bob.body


async def test_key_of_a_rolled_back_create_is_not_remembered(
    sessions: async_sessionmaker[AsyncSession], run: Run
) -> None:
    key, name = _key(), f"n-{uuid.uuid4().hex[:8]}"
    async with sessions() as session:
        await run_idempotent(
            session,
            IdempotencyRecord,
            scope="things:alice",
            key=key,
            payload={"name": name},
            status_code=201,
            create=Creator(session, name),
        )
        await session.rollback()
    result, creator = await run(key=key, payload={"name": name})
    assert creator.calls == 1
    assert result.replayed is False
    assert await _things_named(sessions, name) == 1


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert fingerprint({"b": [1, 2]}) != fingerprint({"b": [2, 1]})


async def test_a_concurrent_request_with_the_same_key_waits_or_loses_the_race(
    sessions: async_sessionmaker[AsyncSession], run: Run, backend: str
) -> None:
    """B arrives while A's create is not committed yet.

    SQLite: B claims the write lock before it reads the key, so it waits for A's commit,
    then reads A's record and replays A's response (before, its stale read snapshot could
    not be upgraded to a write: "database is locked", answered 503). PostgreSQL: B read
    before A committed; its record then collides with A's, a 409 "in flight". Either way
    B's effect is not committed, and B's retry replays A's response.
    """
    key, name = _key(), f"n-{uuid.uuid4().hex[:8]}"
    payload = {"name": name}

    async def request(session: AsyncSession, creator: Creator) -> IdempotentResult:
        return await run_idempotent(
            session,
            IdempotencyRecord,
            scope="things:alice",
            key=key,
            payload=payload,
            status_code=201,
            create=creator,
        )

    async with sessions() as session_a, sessions() as session_b:
        first = await request(session_a, Creator(session_a, name))
        creator_b = Creator(session_b, name)
        b = asyncio.create_task(request(session_b, creator_b))
        await asyncio.sleep(0.3)  # B waits: for the write lock, or for A's uncommitted key
        assert not b.done()
        assert creator_b.calls == (1 if backend == "postgresql" else 0)
        await session_a.commit()
        if backend == "sqlite":
            replayed = await b
            assert (replayed.replayed, replayed.body) == (True, first.body)
        else:
            with pytest.raises(ProblemError) as raised:
                await b
            assert raised.value.status_code == 409
            assert raised.value.problem_type == "idempotency-key-in-flight"
        await session_b.rollback()
    assert first.replayed is False
    assert await _things_named(sessions, name) == 1
    replay, creator = await run(key=key, payload=payload)
    assert creator.calls == 0
    assert replay.replayed is True
    assert replay.body == first.body


def test_a_replayed_response_is_marked_and_a_first_one_is_not() -> None:
    first = IdempotentResult(201, {"id": 1}, replayed=False).response({"ETag": '"1"'})
    again = IdempotentResult(201, {"id": 1}, replayed=True).response({"ETag": '"1"'})
    assert first.status_code == again.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["etag"] == '"1"'
    assert first.body == again.body
