"""Work that runs beside the HTTP server, every few seconds, until the app stops (the SLA
gauges, the scan for the time-based notification events: flows.notification_scan), and
the pruning of idempotency keys."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from c2r_common.db import Database
from c2r_common.idempotency import pruning_idempotency_records
from request_intake.db import IdempotencyRecord

SERVICE = "request-intake"
logger = logging.getLogger("request_intake.background")


class Periodic:
    """`work` run every `interval_seconds` (after each run ends) until stopped."""

    def __init__(self, name: str, interval_seconds: float, work: Callable[[], Awaitable[None]]):
        self.name = name
        self.interval_seconds = interval_seconds
        self.work = work
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Lets the current run finish for a while, then cancels it.

        Cancelling is safe for the work done here: each run is one transaction (a gauge's
        refresh, a scan), rolled back if cut short, and the next run does it again.
        """
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, grace_seconds)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.work()
            except Exception:
                # A database or network hiccup must not end the loop: the next run retries.
                logger.exception("background work %s failed", self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_seconds)


def pruning_idempotency_keys(app: FastAPI) -> AbstractAsyncContextManager[None]:
    """The pruning of expired idempotency keys (requests, outbox deliveries) while the app
    runs, once across replicas (c2r_common.idempotency)."""
    database: Database = app.state.database
    return pruning_idempotency_records(database, IdempotencyRecord, SERVICE, app.state.settings)
