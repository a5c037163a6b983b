"""Every statement of an ingest transaction runs in that one transaction, on real commits:
another session sees nothing of it before the commit, and its row locks hold until then."""

import uuid
from datetime import UTC, datetime

from fastapi import FastAPI
from service_process import committed_school, measurement_columns
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from c2r_common.db import Database, claim_write_lock
from school_monitor.ingestion import writer
from school_monitor.ingestion.writer import lock_school_states
from school_monitor.measurements.models import Measurement


def _measurement_columns(school_id: uuid.UUID, count: int) -> writer.Columns:
    now = datetime.now(UTC)
    return measurement_columns(school_id, [uuid.uuid4() for _ in range(count)], now, now)


async def _stored_measurements(database: Database) -> int:
    async with database.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(Measurement)) or 0)


async def test_bulk_inserts_are_seen_by_another_session_only_after_the_commit(
    committing_app: FastAPI,
) -> None:
    database: Database = committing_app.state.database
    school_id = await committed_school(database)
    async with database.sessionmaker() as session:
        await lock_school_states(session, [school_id])
        inserted = await writer.insert_new(
            session, writer.MEASUREMENTS, _measurement_columns(school_id, 5)
        )
        assert len(inserted) == 5
        assert await _stored_measurements(database) == 0
        await session.rollback()
    assert await _stored_measurements(database) == 0

    async with database.sessionmaker() as session:
        await writer.insert_new(session, writer.MEASUREMENTS, _measurement_columns(school_id, 3))
        await session.commit()
    assert await _stored_measurements(database) == 3


async def _lock_is_held(database: Database, school_id: uuid.UUID) -> bool:
    """Whether another session is kept from writing the school's row: PostgreSQL's row
    lock, or on SQLite the database's one write lock."""
    async with database.sessionmaker() as other:
        if database.engine.dialect.name == "sqlite":
            await other.execute(text("PRAGMA busy_timeout=0"))
        try:
            await other.execute(
                text("UPDATE schools SET name = name WHERE id = :id")
                if database.engine.dialect.name == "sqlite"
                else text("SELECT id FROM schools WHERE id = :id FOR UPDATE NOWAIT"),
                {"id": school_id.hex if database.engine.dialect.name == "sqlite" else school_id},
            )
        except DBAPIError as refused:
            return "lock" in str(refused.orig)
        finally:
            await other.rollback()
        return False


async def test_the_schools_locked_at_the_start_stay_locked_until_the_transaction_ends(
    committing_app: FastAPI,
) -> None:
    database: Database = committing_app.state.database
    school_id = await committed_school(database)
    async with database.sessionmaker() as session:
        await claim_write_lock(session)
        await lock_school_states(session, [school_id])
        await writer.insert_new(session, writer.MEASUREMENTS, _measurement_columns(school_id, 1))
        assert await _lock_is_held(database, school_id)
        await session.commit()
    assert not await _lock_is_held(database, school_id)
