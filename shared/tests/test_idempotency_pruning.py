"""Expired idempotency keys are pruned on real commits, seen from another session: older
than the retention gone, younger kept, in batches; once across replicas (a replica that
finds the prune lock taken leaves the work); and by the app's background job."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import String, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from c2r_common.db import Database, create_engine, new_metadata, utcnow
from c2r_common.idempotency import (
    PRUNE_BATCH,
    IdempotencyRecordMixin,
    prune_expired,
    prune_lock,
    pruning_idempotency_records,
)
from c2r_common.settings import Environment, ServiceSettings
from c2r_common.singleton import try_lock_for_transaction

RETENTION = timedelta(hours=24)


class Base(DeclarativeBase):
    metadata = new_metadata()


class IdempotencyRecord(IdempotencyRecordMixin, Base):
    pass


class AlembicVersion(Base):
    """Every service database has it; claim_write_lock's no-op write targets it."""

    __tablename__ = "alembic_version"

    version_num: Mapped[str] = mapped_column(String(32), primary_key=True)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    yield engine
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def _store(
    sessions: async_sessionmaker[AsyncSession], count: int, age: timedelta, prefix: str
) -> None:
    async with sessions() as session:
        for n in range(count):
            record = IdempotencyRecord()
            record.scope, record.key, record.request_hash = "requests:alice", f"{prefix}-{n}", ""
            record.status_code, record.response_body = 201, "{}"
            record.created_at = utcnow() - age
            session.add(record)
        await session.commit()


async def _keys(engine: AsyncEngine) -> set[str]:
    # A session of its own, on its own engine's connection: what is committed.
    async with async_sessionmaker(engine)() as session:
        return set(await session.scalars(select(IdempotencyRecord.key)))


async def test_keys_older_than_the_retention_are_deleted_and_younger_ones_kept(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _store(sessions, 3, RETENTION + timedelta(minutes=1), "old")
    await _store(sessions, 2, RETENTION - timedelta(minutes=1), "young")
    deleted = await prune_expired(sessions, IdempotencyRecord, service="svc", retention=RETENTION)
    assert deleted == 3
    assert await _keys(engine) == {"young-0", "young-1"}


async def test_more_than_a_batch_is_deleted_batch_by_batch(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _store(sessions, PRUNE_BATCH * 2 + 7, RETENTION * 2, "old")
    deleted = await prune_expired(sessions, IdempotencyRecord, service="svc", retention=RETENTION)
    assert deleted == PRUNE_BATCH * 2 + 7
    assert await _keys(engine) == set()


@pytest.mark.postgresql_only
async def test_a_replica_that_finds_the_prune_lock_taken_leaves_the_work(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _store(sessions, 4, RETENTION * 2, "old")
    async with sessions() as other_replica:
        assert await try_lock_for_transaction(other_replica, prune_lock("svc"))
        left = await prune_expired(sessions, IdempotencyRecord, service="svc", retention=RETENTION)
        assert left == 0
        assert len(await _keys(engine)) == 4
        await other_replica.rollback()  # the other replica's round ends
    deleted = await prune_expired(sessions, IdempotencyRecord, service="svc", retention=RETENTION)
    assert deleted == 4


async def test_two_replicas_pruning_at_once_delete_each_key_once(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    await _store(sessions, PRUNE_BATCH + 50, RETENTION * 2, "old")
    second = create_engine(db_url)  # another replica: an engine and a pool of its own
    try:
        replicas = [sessions, async_sessionmaker(second, expire_on_commit=False)]
        counts = await asyncio.gather(
            *(
                prune_expired(replica, IdempotencyRecord, service="svc", retention=RETENTION)
                for replica in replicas
            )
        )
    finally:
        await second.dispose()
    assert await _keys(engine) == set()
    # Each batch ran under the lock: the deletions add up to the keys, none counted twice.
    assert sum(counts) <= PRUNE_BATCH + 50
    remaining = await prune_expired(sessions, IdempotencyRecord, service="svc", retention=RETENTION)
    assert sum(counts) + remaining == PRUNE_BATCH + 50


async def test_the_background_job_prunes_while_the_app_runs(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    await _store(sessions, 2, timedelta(hours=2), "old")
    await _store(sessions, 1, timedelta(0), "fresh")
    settings = ServiceSettings(
        environment=Environment.DEVELOPMENT,
        database_url=db_url,
        idempotency_retention_hours=1,
        idempotency_prune_seconds=0.05,
    )
    database = Database(db_url)
    try:
        async with pruning_idempotency_records(database, IdempotencyRecord, "svc", settings):
            for _ in range(200):
                if await _keys(engine) == {"fresh-0"}:
                    break
                await asyncio.sleep(0.05)
    finally:
        await database.dispose()
    assert await _keys(engine) == {"fresh-0"}


async def test_the_background_job_does_not_run_under_test(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], db_url: str
) -> None:
    await _store(sessions, 2, timedelta(hours=2), "old")
    settings = ServiceSettings(
        environment=Environment.TEST, idempotency_retention_hours=1, idempotency_prune_seconds=0.05
    )
    database = Database(db_url)
    try:
        async with pruning_idempotency_records(database, IdempotencyRecord, "svc", settings):
            await asyncio.sleep(0.3)
    finally:
        await database.dispose()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 2
