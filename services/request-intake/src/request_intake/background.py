"""Work that runs beside the HTTP server, every few seconds, until the app stops."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("request_intake.background")


class Periodic:
    def __init__(self, name: str, interval_seconds: float, work: Callable[[], Awaitable[object]]):
        self.name = name
        self.interval_seconds = interval_seconds
        self.work = work
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        """Lets the current run finish, then stops (no half-recorded delivery)."""
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.work()
            except Exception:
                # A database or network hiccup must not end the loop: the next run retries.
                logger.exception("background work %s failed", self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_seconds)
