"""Background work: keeps going after errors, stops."""

import asyncio

import pytest

from request_intake.background import Periodic

HOUR = 3600.0


async def test_an_error_does_not_end_the_loop() -> None:
    runs: list[int] = []
    recovered = asyncio.Event()

    async def work() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("database hiccup")
        recovered.set()

    periodic = Periodic("flaky", 0.01, work)
    periodic.start()
    await _wait_until(recovered, periodic)
    await periodic.stop()
    assert len(runs) >= 2


async def _wait_until(event: asyncio.Event, periodic: Periodic) -> None:
    for _ in range(1000):
        if event.is_set():
            return
        await asyncio.sleep(0.005)
    await periodic.stop()
    pytest.fail("the loop did not run again after an error")


async def test_stop_cancels_work_that_outlives_the_grace_period() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def stuck() -> None:
        started.set()
        try:
            await asyncio.sleep(HOUR)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    periodic = Periodic("stuck", HOUR, stuck)
    periodic.start()
    await started.wait()
    await periodic.stop(grace_seconds=0.01)
    assert cancelled.is_set()
