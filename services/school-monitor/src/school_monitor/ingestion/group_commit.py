"""Group commit of single pushes.

Agents push one measurement at a time, many at once. Giving each its own transaction
makes the database work (and on PostgreSQL the hot per-country counter rows) the limit;
instead, the pushes that arrive while a commit is running are stored together in the
next transaction. Each request is answered only after the commit that holds its item, so
an acknowledgement still means committed; a failed commit fails every request in it,
after a deadlock or serialization failure has been retried a bounded number of times.

On PostgreSQL two groups are in flight at a time. With one, the process would idle while
the database works on it, since every waiting client is in that group; with two, one
group's requests are parsed and screened and its rows written while the other's
statements and commit run. The two transactions meet on their country's rows, which
are written last (see ingestion.writer), and on the rows of a school or a UUID they both
carry, which the lock order keeps from deadlocking.
"""

import asyncio
from collections.abc import Sequence

from c2r_common.db import Database
from c2r_common.errors import ProblemError
from c2r_common.transient import retry_on_conflict
from school_monitor.config import SchoolMonitorSettings
from school_monitor.ingestion.pipeline import ingest_many
from school_monitor.ingestion.submission import Submission
from school_monitor.measurements.schemas import IngestReport

MAX_SUBMISSIONS_PER_COMMIT = 1_000
COMMIT_ATTEMPTS = 3
GATHER_SECONDS = 0.004
GATHER_POLL_SECONDS = 0.0005

Pending = tuple[Submission, "asyncio.Future[IngestReport]"]


def commits_in_flight(database: Database, settings: SchoolMonitorSettings) -> int:
    """SQLite has one writer at a time: a second group would only wait for the lock."""
    return 1 if database.engine.dialect.name == "sqlite" else settings.group_commits_in_flight


class GroupCommitter:
    def __init__(self, database: Database, settings: SchoolMonitorSettings) -> None:
        self.database = database
        self.settings = settings
        self._pending: list[Pending] = []
        self._runner: asyncio.Task[None] | None = None
        self._in_flight_limit = commits_in_flight(database, settings)
        self._slots = asyncio.Semaphore(self._in_flight_limit)
        self._commits: set[asyncio.Task[None]] = set()

    async def submit(self, submission: Submission) -> IngestReport:
        future: asyncio.Future[IngestReport] = asyncio.get_running_loop().create_future()
        self._pending.append((submission, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            await self._slots.acquire()
            await self._gather()
            commit = asyncio.create_task(self._commit(self._next_group()))
            self._commits.add(commit)
            commit.add_done_callback(self._finished)

    def _next_group(self) -> list[Pending]:
        """The pending pushes shared out over the free slots: a round of clients that
        arrived together is split into groups that overlap, not committed as one."""
        free = self._in_flight_limit - len(self._commits)
        size = min(MAX_SUBMISSIONS_PER_COMMIT, -(-len(self._pending) // free))
        group = self._pending[:size]
        del self._pending[:size]
        return group

    def _finished(self, commit: "asyncio.Task[None]") -> None:
        self._commits.discard(commit)
        self._slots.release()

    async def _gather(self) -> None:
        """Waits while pushes keep arriving, up to GATHER_SECONDS.

        The clients answered by the last commit send again within a moment; starting the
        next commit with only the first few of them would make many small commits instead
        of one per round of clients. A lone push is delayed by one poll interval.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GATHER_SECONDS
        seen = -1
        while len(self._pending) != seen and loop.time() < deadline:
            seen = len(self._pending)
            await asyncio.sleep(GATHER_POLL_SECONDS)

    async def _commit(self, group: Sequence[Pending]) -> None:
        submissions = [submission for submission, _ in group]

        async def store() -> list[IngestReport | ProblemError]:
            # The session factory is looked up each time: tests swap it for a rolled-back one.
            async with self.database.sessionmaker() as session:
                outcomes = await ingest_many(session, self.settings, submissions)
                await session.commit()
                return outcomes

        try:
            # A deadlock rolls the whole group back: run it again before failing anyone.
            outcomes = await retry_on_conflict(store, COMMIT_ATTEMPTS)
        except Exception as failure:  # each waiting request answers it (503 if transient)
            for _, future in group:
                if not future.done():
                    future.set_exception(failure)
            return
        for (_, future), outcome in zip(group, outcomes, strict=True):
            if future.done():  # the client went away; its item is stored all the same
                continue
            if isinstance(outcome, ProblemError):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    async def close(self) -> None:
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)
        await asyncio.gather(*self._commits, return_exceptions=True)
