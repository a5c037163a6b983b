"""Work that runs beside the HTTP server, every few seconds, until the app stops: the
pruning of idempotency keys and the scan for the time-based notification events."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from c2r_common.db import Database
from c2r_common.idempotency import pruning_idempotency_records
from c2r_common.singleton import run_alone
from request_intake.calls import service as calls_service
from request_intake.config import IntakeSettings
from request_intake.db import IdempotencyRecord
from request_intake.sla import service as sla_service
from request_intake.sla_policy import SlaPolicy

SERVICE = "request-intake"
logger = logging.getLogger("request_intake.background")


class Periodic:
    def __init__(
        self, name: str, interval_seconds: float, work: Callable[[], Awaitable[bool | None]]
    ):
        self.name = name
        self.interval_seconds = interval_seconds
        self.work = work
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Lets the current run finish for a while, then cancels it.

        Cancelling is safe for the work done here: its state is only ever in the database,
        and an interrupted delivery is resent with the same idempotency key.
        """
        self._stopping.set()
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, grace_seconds)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            more = False
            try:
                more = bool(await self.work())
            except Exception:
                # A database or network hiccup must not end the loop: the next run retries.
                logger.exception("background work %s failed", self.name)
            if more:  # a full batch: the backlog goes on, so no pause
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_seconds)


def pruning_idempotency_keys(app: FastAPI) -> AbstractAsyncContextManager[None]:
    """The pruning of expired idempotency keys (requests, outbox deliveries) while the app
    runs, once across replicas (c2r_common.idempotency)."""
    database: Database = app.state.database
    return pruning_idempotency_records(database, IdempotencyRecord, SERVICE, app.state.settings)


NOTIFY_SCAN_LOCK = "request-intake:notify-scan"


async def notification_scan(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: IntakeSettings,
    now: datetime,
    sla: SlaPolicy,
) -> int:
    """One scan for the time-based events (SLA clocks due soon or overdue; calls opened,
    closing, closed) in one transaction, under the round lock: replicas scanning at once
    leave it to one, and each event's stable id makes a repeated scan write nothing."""

    async def scan(db: AsyncSession) -> int:
        emitted = await sla_service.notify_sla_clocks(db, now, sla, settings.notify_sla_due_days)
        return emitted + await calls_service.notify_calls(
            db, now, settings.notify_call_closing_days
        )

    done = await run_alone(sessionmaker, NOTIFY_SCAN_LOCK, scan)
    return done.result or 0
