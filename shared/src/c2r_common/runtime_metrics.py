"""Metrics of the running process that every service exports alike: what build it is, and
how its database pool is holding up. Registered once per app by `register_runtime_metrics`.

The pool's size and connections in use are read from the pool at scrape time (a collector),
so they can never drift from it; the waits for a connection are counted as they happen.
"""

import os
import subprocess
import time
import weakref
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from prometheus_client import REGISTRY, Counter, Gauge, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool, QueuePool

from c2r_common.db import Database

# The commit an image was built from (the Dockerfile's build argument); a checkout asks git.
BUILD_COMMIT_ENV = "C2R_BUILD_COMMIT"
UNKNOWN = "unknown"

BUILD_INFO = Gauge(
    "c2r_build_info",
    "Always 1: the version and commit of the running service.",
    ["service", "version", "commit"],
)
POOL_WAITS = Counter(
    "c2r_db_pool_waits",
    "Database connections waited for because every connection of the pool was in use.",
    ["service"],
)
POOL_WAIT_SECONDS = Counter(
    "c2r_db_pool_wait_seconds",
    "Time spent waiting for a database connection while the pool was exhausted.",
    ["service"],
)


def register_runtime_metrics(app: FastAPI, service: str, version: str) -> None:
    """Build info and the app's database pool; and no `_created` series for any counter or
    histogram (an eighth of the samples, which nothing reads)."""
    disable_created_metrics()  # type: ignore[no-untyped-call]
    BUILD_INFO.labels(service, version, build_commit()).set(1)
    database: Database = app.state.database
    _POOL_COLLECTOR.watch(service, database.engine.sync_engine)


@cache
def build_commit() -> str:
    if commit := os.environ.get(BUILD_COMMIT_ENV, "").strip():
        return commit
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return UNKNOWN  # no git in an image built without the argument
    return result.stdout.strip() if result.returncode == 0 else UNKNOWN


def pool_capacity(pool: Pool) -> int | None:
    """How many connections the pool may hold at once; None for pools without a bound."""
    if isinstance(pool, QueuePool):
        # max_overflow has no public reader; -1 means no bound on the overflow.
        max_overflow: int = getattr(pool, "_max_overflow", 0)
        return None if max_overflow < 0 else pool.size() + max_overflow
    return None


class _PoolCollector(Collector):
    """c2r_db_pool_size and c2r_db_pool_in_use of every watched engine, read at scrape time.

    The engine, not its pool, is kept: disposing an engine replaces its pool.
    """

    def __init__(self) -> None:
        self._engines: weakref.WeakValueDictionary[str, Engine] = weakref.WeakValueDictionary()

    def watch(self, service: str, engine: Engine) -> None:
        self._engines[service] = engine
        _count_waits(service, engine.pool)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        size = GaugeMetricFamily(
            "c2r_db_pool_size",
            "Database connections the pool may hold at once (its size and overflow).",
            labels=["service"],
        )
        in_use = GaugeMetricFamily(
            "c2r_db_pool_in_use",
            "Database connections checked out of the pool now.",
            labels=["service"],
        )
        for service, engine in list(self._engines.items()):
            pool = engine.pool
            capacity = pool_capacity(pool)
            if capacity is None or not isinstance(pool, QueuePool):
                continue
            size.add_metric([service], capacity)
            in_use.add_metric([service], pool.checkedout())
        yield size
        yield in_use


def _count_waits(service: str, pool: Pool) -> None:
    """Counts the checkouts that find every connection in use, and how long they wait.

    SQLAlchemy's pool events fire only once a connection is handed out, so the pool's own
    getter is wrapped: a full pool at entry is exactly when QueuePool blocks.
    """
    capacity = pool_capacity(pool)
    if capacity is None or not isinstance(pool, QueuePool) or getattr(pool, "_c2r_waits", False):
        return
    get: Callable[[], Any] = pool._do_get
    queue_pool = pool

    def get_counting_waits() -> Any:
        if queue_pool.checkedout() < capacity:
            return get()
        started = time.perf_counter()
        try:
            return get()
        finally:
            POOL_WAITS.labels(service).inc()
            POOL_WAIT_SECONDS.labels(service).inc(time.perf_counter() - started)

    setattr(pool, "_do_get", get_counting_waits)  # noqa: B010 (an instance attribute)
    setattr(pool, "_c2r_waits", True)  # noqa: B010


_POOL_COLLECTOR = _PoolCollector()
REGISTRY.register(_POOL_COLLECTOR)
