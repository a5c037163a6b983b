"""Group commit of single pushes.

Agents push one measurement at a time, many at once. Giving each its own transaction
makes the database work (and on PostgreSQL the hot per-country counter rows) the limit;
instead, the pushes that arrive while a commit is running are stored together in the
next transaction. Each request is answered only after the commit that holds its item, so
an acknowledgement still means committed; a failed commit fails every request in it.
"""

import asyncio
from collections.abc import Sequence

from c2r_common.db import Database
from c2r_common.errors import ProblemError
from school_monitor.config import SchoolMonitorSettings
from school_monitor.measurements.schemas import IngestReport
from school_monitor.measurements.service import Submission, ingest_many

MAX_SUBMISSIONS_PER_COMMIT = 1_000
GATHER_SECONDS = 0.004
GATHER_POLL_SECONDS = 0.0005

Pending = tuple[Submission, "asyncio.Future[IngestReport]"]


class GroupCommitter:
    def __init__(self, database: Database, settings: SchoolMonitorSettings) -> None:
        self.database = database
        self.settings = settings
        self._pending: list[Pending] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, submission: Submission) -> IngestReport:
        future: asyncio.Future[IngestReport] = asyncio.get_running_loop().create_future()
        self._pending.append((submission, future))
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            await self._gather()
            batch = self._pending[:MAX_SUBMISSIONS_PER_COMMIT]
            del self._pending[:MAX_SUBMISSIONS_PER_COMMIT]
            await self._commit(batch)

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

    async def _commit(self, batch: Sequence[Pending]) -> None:
        try:
            # The session factory is looked up each time: tests swap it for a rolled-back one.
            async with self.database.sessionmaker() as session:
                outcomes = await ingest_many(session, self.settings, [s for s, _ in batch])
                await session.commit()
        except Exception as failure:  # answered as a 500 by each waiting request
            for _, future in batch:
                if not future.done():
                    future.set_exception(failure)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # the client went away; its item is stored all the same
                continue
            if isinstance(outcome, ProblemError):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

    async def close(self) -> None:
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)
