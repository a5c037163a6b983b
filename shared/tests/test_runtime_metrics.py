"""Build info, the database pool's size, use and waits, and no `_created` series, as
scraped from the exposition, on the selected database (SQLite file or PostgreSQL)."""

import asyncio
import re
import time
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from prometheus_client import Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from c2r_common import runtime_metrics
from c2r_common.db import Database
from c2r_common.runtime_metrics import register_runtime_metrics

CAPACITY = {"sqlite": 5 + 10, "postgresql": 10 + 10}  # SQLAlchemy's defaults; c2r_common.db's


def scraped(name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(generate_latest().decode()):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return float(sample.value)
    return None


@pytest.fixture
async def database_app(db_url: str) -> AsyncIterator[tuple[FastAPI, Database]]:
    app = FastAPI()
    app.state.database = Database(db_url)
    register_runtime_metrics(app, "pool-under-test", "1.2.3")
    yield app, app.state.database
    await app.state.database.dispose()


async def test_build_info_names_the_version_and_the_image_commit(
    monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    monkeypatch.setenv("C2R_BUILD_COMMIT", "0123abcd4567")
    runtime_metrics.build_commit.cache_clear()
    app = FastAPI()
    app.state.database = Database(db_url)
    try:
        register_runtime_metrics(app, "build-under-test", "9.8.7")
    finally:
        runtime_metrics.build_commit.cache_clear()
        await app.state.database.dispose()
    labels = {"service": "build-under-test", "version": "9.8.7", "commit": "0123abcd4567"}
    assert scraped("c2r_build_info", **labels) == 1


def test_a_checkout_without_the_build_argument_reports_its_git_commit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("C2R_BUILD_COMMIT", raising=False)
    runtime_metrics.build_commit.cache_clear()
    try:
        commit = runtime_metrics.build_commit()
    finally:
        runtime_metrics.build_commit.cache_clear()
    assert len(commit) == 12
    int(commit, 16)


async def test_the_pool_reports_its_size_and_the_connections_in_use(
    database_app: tuple[FastAPI, Database], backend: str
) -> None:
    _, database = database_app
    service = {"service": "pool-under-test"}
    assert scraped("c2r_db_pool_size", **service) == CAPACITY[backend]
    async with database.engine.connect() as first, database.engine.connect() as second:
        await first.execute(text("SELECT 1"))
        await second.execute(text("SELECT 1"))
        assert scraped("c2r_db_pool_in_use", **service) == 2
    assert scraped("c2r_db_pool_in_use", **service) == 0


async def test_a_checkout_from_an_exhausted_pool_is_counted_as_a_wait_with_its_time(
    database_app: tuple[FastAPI, Database], backend: str
) -> None:
    _, database = database_app
    service = {"service": "pool-under-test"}
    waits_before = scraped("c2r_db_pool_waits_total", **service) or 0.0
    seconds_before = scraped("c2r_db_pool_wait_seconds_total", **service) or 0.0
    held: list[AsyncConnection] = []
    for _ in range(CAPACITY[backend]):
        held.append(await database.engine.connect())
        await held[-1].execute(text("SELECT 1"))
    assert scraped("c2r_db_pool_waits_total", **service) == (waits_before or None)

    async def release_one_later() -> None:
        await asyncio.sleep(0.3)
        await held.pop().close()

    started = time.perf_counter()
    releaser = asyncio.create_task(release_one_later())
    async with database.engine.connect() as waited:
        await waited.execute(text("SELECT 1"))
    waited_for = time.perf_counter() - started
    await releaser
    for connection in held:
        await connection.close()
    assert scraped("c2r_db_pool_waits_total", **service) == waits_before + 1
    wait_seconds = (scraped("c2r_db_pool_wait_seconds_total", **service) or 0.0) - seconds_before
    assert 0.25 <= wait_seconds <= waited_for


async def test_no_created_series_are_exported(database_app: tuple[FastAPI, Database]) -> None:
    counter = Counter("c2r_test_runtime_things", "Things counted by the test.", ["kind"])
    counter.labels("one").inc()
    exposition = generate_latest().decode()
    assert "c2r_test_runtime_things_total" in exposition
    # A `_created` series is a sample named <metric>_created; a metric may well have
    # "_created" inside its name (c2r_assessment_assessments_created_total).
    created = [line for line in exposition.splitlines() if re.match(r"\w+_created[{ ]", line)]
    assert created == []
