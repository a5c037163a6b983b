"""Background work once across replicas: the round lock and the gauge leadership, on a
real database (two engines stand for two replicas)."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from c2r_common.db import create_engine
from c2r_common.singleton import Leadership, lock_key, run_alone, try_lock_for_transaction

WORK = "test-sweep"


@pytest.fixture
async def engines(db_url: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    first, second = create_engine(db_url), create_engine(db_url)
    async with first.begin() as connection:  # claim_write_lock's no-op write needs it
        await connection.execute(
            text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32))")
        )
    yield first, second
    await first.dispose()
    await second.dispose()


def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def backend_pid(session: AsyncSession) -> int:
    return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)


def test_the_key_is_a_stable_signed_64_bit_number_per_name() -> None:
    assert lock_key(WORK) == lock_key(WORK) == -4696251368309589285
    assert lock_key("other-work") != lock_key(WORK)
    assert all(-(2**63) <= lock_key(f"work-{n}") < 2**63 for n in range(100))


async def test_a_second_session_does_not_get_the_lock_while_the_first_holds_it(
    backend: str, engines: tuple[AsyncEngine, AsyncEngine]
) -> None:
    first, second = engines
    async with sessions(first)() as holder, sessions(second)() as other:
        assert await try_lock_for_transaction(holder, WORK)
        if backend == "postgresql":
            assert not await try_lock_for_transaction(other, WORK)
            assert await try_lock_for_transaction(other, "other-work")
            return
        # SQLite: the second waits for the write lock instead, until the first ends.
        waiting = asyncio.create_task(try_lock_for_transaction(other, WORK))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await holder.commit()
        assert await asyncio.wait_for(waiting, 5)


async def test_the_lock_is_released_at_commit_and_at_rollback(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    first, second = engines
    async with sessions(first)() as holder, sessions(second)() as other:
        assert await try_lock_for_transaction(holder, WORK)
        await holder.commit()
        assert await try_lock_for_transaction(other, WORK)
        await other.rollback()
        assert await try_lock_for_transaction(holder, WORK)
        await holder.rollback()


async def test_the_lock_is_released_when_its_connection_is_terminated(
    backend: str, engines: tuple[AsyncEngine, AsyncEngine]
) -> None:
    first, second = engines
    holder = sessions(first)()
    assert await try_lock_for_transaction(holder, WORK)
    async with sessions(second)() as other:
        if backend == "postgresql":
            pid = await backend_pid(holder)
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await other.commit()
        else:  # no server to end a connection on SQLite: the process dropping it instead
            await holder.invalidate()
        assert await try_lock_for_transaction(other, WORK)
    await holder.invalidate()  # the terminated connection cannot be rolled back


async def test_run_alone_runs_one_round_at_a_time_and_commits_it(
    backend: str, engines: tuple[AsyncEngine, AsyncEngine]
) -> None:
    first, second = engines
    inside = 0
    most_inside = 0

    async def work(session: AsyncSession) -> int:
        nonlocal inside, most_inside
        inside += 1
        most_inside = max(most_inside, inside)
        await asyncio.sleep(0.05)
        inside -= 1
        return 1

    rounds = await asyncio.gather(
        *(run_alone(sessions(engine), WORK, work) for engine in (first, second) * 5)
    )
    assert most_inside == 1
    ran = [r for r in rounds if r.ran]
    assert all(r.result == 1 for r in ran)
    assert all(r.result is None for r in rounds if not r.ran)
    # PostgreSQL skips a round already running; SQLite's write lock makes it wait its turn.
    assert len(ran) < len(rounds) if backend == "postgresql" else len(ran) == len(rounds)
    async with sessions(second)() as after:  # committed: the lock is free again
        assert await try_lock_for_transaction(after, WORK)
        await after.rollback()


async def test_one_replica_leads_until_its_connection_ends(
    backend: str, engines: tuple[AsyncEngine, AsyncEngine]
) -> None:
    first, second = engines
    leader, follower = Leadership(first, WORK, 30), Leadership(second, WORK, 30)
    try:
        assert await leader.check()
        if backend == "sqlite":  # one process per SQLite file: each leads itself
            assert await follower.check()
            return
        assert not await follower.check()
        assert await leader.check()  # still held
        await leader.release()
        assert await follower.check()
        assert not await leader.check()
    finally:
        await leader.aclose()
        await follower.aclose()


async def test_a_terminated_leader_loses_the_lead_to_another_replica(
    backend: str, engines: tuple[AsyncEngine, AsyncEngine]
) -> None:
    first, second = engines
    leader, follower = Leadership(first, WORK, 30), Leadership(second, WORK, 30)
    try:
        assert await leader.check()
        if backend == "sqlite":
            return  # nothing to terminate: each SQLite process leads itself (test above)
        async with first.connect() as admin:
            holders = await admin.scalar(
                text(
                    "SELECT array_agg(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND objsubid = 1 AND (classid::bigint << 32 | objid::bigint) = :key"
                ),
                {"key": lock_key(WORK)},
            )
            assert len(holders or []) == 1
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holders[0]})
        assert await follower.check()
        assert not await leader.check()  # finds its connection gone
        assert not await leader.check()  # and the lock taken
    finally:
        await leader.aclose()
        await follower.aclose()


@pytest.mark.postgresql_only  # SQLite has no server to end an idle session
async def test_an_idle_leader_is_ended_by_the_server_and_hands_over(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    first, second = engines
    leader, follower = Leadership(first, WORK, 1), Leadership(second, WORK, 1)
    try:
        assert await leader.check()
        assert not await follower.check()
        await asyncio.sleep(1.5)  # the leader stops checking, as if hung
        assert await follower.check()
    finally:
        await leader.aclose()
        await follower.aclose()
