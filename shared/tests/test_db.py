"""Engines and UTCDateTime on SQLite (and on PostgreSQL when C2R_TEST_DB=postgresql)."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, ForeignKey, Integer, Table, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from c2r_common import db
from c2r_common.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    Database,
    UTCDateTime,
    claim_write_lock,
    create_engine,
    new_metadata,
)
from c2r_common.testing import pg_admin, pg_database_url

metadata = new_metadata()
samples = Table(
    "utc_samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=True),
)


@pytest.fixture(scope="module")
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield engine
    async with engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
    await engine.dispose()


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/nested/folder/pragmas.db")
    yield engine
    await engine.dispose()


async def test_sqlite_engine_sets_wal_foreign_keys_and_busy_timeout(
    sqlite_engine: AsyncEngine,
) -> None:
    async with sqlite_engine.connect() as connection:
        journal_mode = await connection.scalar(text("PRAGMA journal_mode"))
        foreign_keys = await connection.scalar(text("PRAGMA foreign_keys"))
        busy_timeout = await connection.scalar(text("PRAGMA busy_timeout"))
        synchronous = await connection.scalar(text("PRAGMA synchronous"))
    assert journal_mode == "wal"
    assert foreign_keys == 1
    assert busy_timeout == SQLITE_BUSY_TIMEOUT_MS == 5000
    assert synchronous == 1  # NORMAL


async def test_sqlite_engine_creates_the_database_folder(
    sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    assert (tmp_path / "nested" / "folder").is_dir()
    async with sqlite_engine.connect() as connection:
        assert await connection.scalar(text("SELECT 1")) == 1
    assert (tmp_path / "nested" / "folder" / "pragmas.db").is_file()


async def test_sqlite_engine_enforces_foreign_keys(sqlite_engine: AsyncEngine) -> None:
    fk_metadata = new_metadata()
    parent = Table("parent", fk_metadata, Column("id", Integer, primary_key=True))
    child = Table(
        "child",
        fk_metadata,
        Column("id", Integer, primary_key=True),
        Column("parent_id", ForeignKey("parent.id"), nullable=False),
    )
    async with sqlite_engine.begin() as connection:
        await connection.run_sync(fk_metadata.create_all)
        await connection.execute(insert(parent).values(id=1))
        await connection.execute(insert(child).values(id=1, parent_id=1))
    async with sqlite_engine.begin() as connection:
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            await connection.execute(insert(child).values(id=2, parent_id=99))


BLOB_BYTES, BLOBS = 512 * 1024, 12  # 6 MB: past the 1,000-page line of SQLite's autocheckpoint


async def write_blobs(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE blobs (data BLOB)"))
    for _ in range(BLOBS):
        async with database.engine.begin() as connection:
            await connection.execute(text(f"INSERT INTO blobs VALUES (randomblob({BLOB_BYTES}))"))


async def test_sqlite_commits_checkpoint_the_wal_themselves_by_default(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/wal.db")
    try:
        await write_blobs(database)
    finally:
        await database.dispose()
    assert (tmp_path / "wal.db").stat().st_size > BLOB_BYTES * BLOBS / 2


async def test_sqlite_background_checkpoints_take_the_wal_off_the_commits(tmp_path: Path) -> None:
    database_file = tmp_path / "wal.db"
    database = Database(f"sqlite+aiosqlite:///{database_file}", background_checkpoints=True)
    try:
        async with database.engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA wal_autocheckpoint")) == 0
        await write_blobs(database)
        assert database_file.stat().st_size < BLOB_BYTES  # every page is still in the log
        async with database.checkpoints():
            for _ in range(100):
                if database_file.stat().st_size > BLOB_BYTES * BLOBS:
                    break
                await asyncio.sleep(0.05)
            assert database_file.stat().st_size > BLOB_BYTES * BLOBS
    finally:
        await database.dispose()


def test_metadata_names_constraints_by_convention() -> None:
    fk_metadata = new_metadata()
    Table("parent", fk_metadata, Column("id", Integer, primary_key=True))
    child = Table(
        "child",
        fk_metadata,
        Column("id", Integer, primary_key=True),
        Column("parent_id", ForeignKey("parent.id")),
    )
    assert child.primary_key.name == "pk_child"
    (foreign_key,) = child.foreign_key_constraints
    assert foreign_key.name == "fk_child_parent_id_parent"


@pytest.mark.parametrize(
    "given",
    [
        datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC),
        datetime(2025, 3, 1, 10, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
        datetime(2025, 2, 28, 21, 0, tzinfo=timezone(timedelta(hours=-11, minutes=-30))),
    ],
)
async def test_utc_datetime_returns_aware_utc(engine: AsyncEngine, given: datetime) -> None:
    async with engine.begin() as connection:
        row_id = await connection.scalar(insert(samples).values(at=given).returning(samples.c.id))
    async with engine.connect() as connection:
        stored = await connection.scalar(select(samples.c.at).where(samples.c.id == row_id))
    assert isinstance(stored, datetime)
    assert stored == given  # the same instant
    assert stored.tzinfo is UTC
    assert stored == given.astimezone(UTC).replace(tzinfo=UTC)


async def test_utc_datetime_compares_across_offsets(engine: AsyncEngine) -> None:
    moment = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    async with engine.begin() as connection:
        row_id = await connection.scalar(insert(samples).values(at=moment).returning(samples.c.id))
    same_moment_elsewhere = moment.astimezone(timezone(timedelta(hours=9)))
    async with engine.connect() as connection:
        found = await connection.scalar(
            select(samples.c.id).where(samples.c.at == same_moment_elsewhere)
        )
        later = await connection.scalar(
            select(samples.c.id).where(
                samples.c.id == row_id, samples.c.at > moment - timedelta(microseconds=1)
            )
        )
    assert found == row_id
    assert later == row_id


async def test_utc_datetime_keeps_null(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        row_id = await connection.scalar(insert(samples).values(at=None).returning(samples.c.id))
    async with engine.connect() as connection:
        assert await connection.scalar(select(samples.c.at).where(samples.c.id == row_id)) is None


async def test_utc_datetime_rejects_naive_datetimes(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        with pytest.raises(StatementError, match="naive datetime"):
            await connection.execute(insert(samples).values(at=datetime(2025, 3, 1, 8, 30)))


async def test_savepoint_rolls_back_only_its_own_writes(engine: AsyncEngine) -> None:
    moment = datetime(2031, 5, 5, 5, 5, tzinfo=UTC)
    async with engine.connect() as connection:
        async with connection.begin():
            kept = await connection.scalar(
                insert(samples).values(at=moment).returning(samples.c.id)
            )
            savepoint = await connection.begin_nested()
            undone = await connection.scalar(
                insert(samples).values(at=moment).returning(samples.c.id)
            )
            await savepoint.rollback()
        ids = set(
            (await connection.scalars(select(samples.c.id).where(samples.c.at == moment))).all()
        )
    assert ids == {kept}
    assert undone not in ids


async def test_rolled_back_transaction_leaves_no_row(engine: AsyncEngine) -> None:
    moment = datetime(2032, 6, 6, 6, 6, tzinfo=UTC)
    async with engine.connect() as connection:
        transaction = await connection.begin()
        await connection.execute(insert(samples).values(at=moment))
        await transaction.rollback()
        count = len(
            (await connection.scalars(select(samples.c.id).where(samples.c.at == moment))).all()
        )
    assert count == 0


async def test_outer_rollback_undoes_a_released_savepoint(engine: AsyncEngine) -> None:
    """The per-test rollback pattern: a service's commit is a savepoint of an outer
    transaction, which must still undo it (SQLite needs a real BEGIN for that)."""
    moment = datetime(2033, 7, 7, 7, 7, tzinfo=UTC)
    async with engine.connect() as connection:
        transaction = await connection.begin()
        async with connection.begin_nested():
            await connection.execute(insert(samples).values(at=moment))
        await transaction.rollback()
    async with engine.connect() as connection:
        rows = (await connection.scalars(select(samples.c.id).where(samples.c.at == moment))).all()
    assert rows == []


async def create_tables(engine: AsyncEngine, *tables: str) -> None:
    async with engine.begin() as connection:
        for table in tables:
            await connection.execute(text(f"CREATE TABLE {table}"))


async def test_claimed_write_lock_makes_a_read_then_write_wait_instead_of_fail(
    sqlite_engine: AsyncEngine,
) -> None:
    await create_tables(sqlite_engine, "alembic_version (version_num TEXT)", "counter (n INTEGER)")
    async with sqlite_engine.begin() as connection:
        await connection.execute(text("INSERT INTO counter VALUES (0)"))
    sessions = async_sessionmaker(sqlite_engine)
    order: list[str] = []

    async def read_then_write(name: str, hold: asyncio.Event | None) -> None:
        async with sessions() as session:
            await claim_write_lock(session)
            current = await session.scalar(text("SELECT n FROM counter"))
            if hold is not None:
                await hold.wait()  # the other writer tries to start meanwhile
            await session.execute(text("UPDATE counter SET n = :n"), {"n": current + 1})
            await session.commit()
            order.append(name)

    release = asyncio.Event()
    first = asyncio.create_task(read_then_write("first", release))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(read_then_write("second", None))
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(first, second)

    async with sessions() as session:
        assert await session.scalar(text("SELECT n FROM counter")) == 2  # no lost update
    assert order == ["first", "second"]


# PostgreSQL pools: liveness checked only on connections idle for a while. These run against
# the local PostgreSQL server whichever backend the suite selected.


async def test_write_lock_not_obtained_raises_the_database_error_answered_with_503(
    sqlite_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await create_tables(sqlite_engine, "alembic_version (version_num TEXT)")
    monkeypatch.setattr(db, "_WRITE_LOCK_ATTEMPTS", 1)
    sessions = async_sessionmaker(sqlite_engine)
    async with sessions() as holder, sessions() as waiter:
        await claim_write_lock(holder)
        driver = (await (await waiter.connection()).get_raw_connection()).driver_connection
        await driver.execute("PRAGMA busy_timeout=50")
        with pytest.raises(OperationalError) as raised:
            await claim_write_lock(waiter)
    # What the service's error handler answers with 503 and Retry-After.
    assert "database is locked" in str(raised.value.orig)


async def _traced_statements(engine: AsyncEngine) -> list[str]:
    """The statements SQLite runs on the pool's one connection from now on."""
    statements: list[str] = []
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        await driver.set_trace_callback(statements.append)
    return statements


async def test_sqlite_write_transaction_runs_begin_lock_claim_its_write_and_commit(
    sqlite_engine: AsyncEngine,
) -> None:
    await create_tables(sqlite_engine, "alembic_version (version_num TEXT)", "counter (n INTEGER)")
    statements = await _traced_statements(sqlite_engine)

    async with async_sessionmaker(sqlite_engine)() as session:
        await claim_write_lock(session)
        await session.execute(text("INSERT INTO counter VALUES (1)"))
        await session.commit()

    assert statements == [
        "BEGIN",
        "UPDATE alembic_version SET version_num = version_num WHERE 1 = 0",
        "INSERT INTO counter VALUES (1)",
        "COMMIT",
    ]


async def test_the_write_lock_is_claimed_once_per_transaction(sqlite_engine: AsyncEngine) -> None:
    await create_tables(sqlite_engine, "alembic_version (version_num TEXT)")
    statements = await _traced_statements(sqlite_engine)
    claim = "UPDATE alembic_version SET version_num = version_num WHERE 1 = 0"

    async with async_sessionmaker(sqlite_engine)() as session:
        await claim_write_lock(session)
        await claim_write_lock(session)  # e.g. an idempotent create, then its effect
        await session.commit()
        await claim_write_lock(session)  # a new transaction claims it again
        await session.commit()

    assert statements == ["BEGIN", claim, "COMMIT", "BEGIN", claim, "COMMIT"]


async def test_writers_of_one_process_take_the_write_lock_in_arrival_order(
    sqlite_engine: AsyncEngine,
) -> None:
    await create_tables(sqlite_engine, "alembic_version (version_num TEXT)")
    sessions = async_sessionmaker(sqlite_engine)
    turns: list[str] = []

    async def transaction(name: str) -> None:
        async with sessions() as session:
            await claim_write_lock(session)
            turns.append(name)
            await asyncio.sleep(0.02)
            await session.commit()

    async def greedy() -> None:  # claims again the moment it has committed, like an import
        for n in range(5):
            await transaction(f"greedy-{n}")

    first = asyncio.create_task(greedy())
    await asyncio.sleep(0.005)  # during greedy-0
    await asyncio.gather(first, transaction("waiting"))
    # SQLite's busy handler polls: without the queue, greedy won the lock back every time.
    assert turns.index("waiting") == 1


async def test_sqlite_connection_returned_inside_a_transaction_is_rolled_back(
    sqlite_engine: AsyncEngine,
) -> None:
    await create_tables(sqlite_engine, "counter (n INTEGER)")

    async with sqlite_engine.connect() as connection:
        # A transaction SQLAlchemy does not know of: only the pool's reset can end it.
        driver = (await connection.get_raw_connection()).driver_connection
        await driver.execute("BEGIN")
        await driver.execute("INSERT INTO counter VALUES (1)")

    async with sqlite_engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert not driver.in_transaction
        assert await connection.scalar(text("SELECT count(*) FROM counter")) == 0


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    name = f"c2r_test_pool_{uuid.uuid4().hex[:8]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    yield pg_database_url(name)
    await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(text("SELECT pg_backend_pid()")))


async def test_a_connection_killed_while_idle_is_replaced_without_an_error(pg_url: str) -> None:
    engine = create_engine(pg_url, pool_size=1, alive_without_check=0.05)
    try:
        killed = await _backend_pid(engine)
        await pg_admin(f"SELECT pg_terminate_backend({killed})")
        await asyncio.sleep(0.2)  # idle for longer than the window: checked at checkout
        assert await _backend_pid(engine) != killed
    finally:
        await engine.dispose()


async def test_a_connection_in_use_a_moment_ago_is_trusted_and_replaced_after_one_failure(
    pg_url: str,
) -> None:
    engine = create_engine(pg_url, pool_size=1, alive_without_check=60)
    try:
        killed = await _backend_pid(engine)
        await pg_admin(f"SELECT pg_terminate_backend({killed})")
        await asyncio.sleep(0.2)
        # Within the window the connection is not checked: the statement meets the dead
        # connection, and the pool drops it...
        with pytest.raises(DBAPIError) as failure:
            await _backend_pid(engine)
        assert failure.value.connection_invalidated
        # ...so that the next checkout gets a fresh one.
        assert await _backend_pid(engine) != killed
    finally:
        await engine.dispose()
