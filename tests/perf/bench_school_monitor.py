"""Benchmarks of school-monitor, each figure a ratio against a baseline
measured in the same run, on the real service started with uvicorn in its own process.

    .venv/bin/python tests/perf/bench_school_monitor.py [--db sqlite|postgresql|both] [--quick]

Prints a table and writes build/bench/school-monitor.json. Not collected by pytest.

What is measured, per database:
1. batch ingestion through HTTP, batches of 1,000, several connections in parallel, against
   a raw bulk insert of equivalent rows into the same table (PostgreSQL COPY of the rows and
   of their UUIDs into the key table, as the service writes both; SQLite
   executemany in one transaction) -- same schema, same indexes, same database; and against
   the floor of what acknowledging after commit allows: the same raw insert committed every
   1,000 rows, into the same empty table as the HTTP phase starts with;
2. single-measurement pushes by 64 concurrent clients with device tokens, against a trivial
   endpoint (/healthz) of the same app with the same client and server settings; p99;
3. GET /v1/connectivity/countries/{iso3} with 100,000 schools and 10 million measurements
   in that country: p95 over sequential requests, against computing the same answer from
   the raw rows. The 10M rows are generated inside the database (INSERT ... SELECT from
   generate_series / a recursive CTE: the raw bulk path, far faster than HTTP), then the
   derived tables the service maintains on ingest (school_daily, country_daily,
   country_stats, the schools' status columns) are filled from them once;
4. the service's resident memory (VmRSS), sampled every 100 ms throughout;
5. on PostgreSQL, batch ingestion shared out over two service processes on the one
   database (replicas), for the same schools and country at once;
6. single pushes by 8 agents (device tokens) while a 100,000-row CSV import runs through
   the API: their p99, against the same pushes without an import (the import commits in
   chunks, so a push waits for one chunk at most).
7. Giga Meter agents (`--only giga`, or `giga-single` / `giga-backlog` alone): the agent's
   single POST /api/v1/measurements (its ~1.9 KB payload as v1.0.10 builds it, its
   deployment key, each of 64 clients a registered device) against the native single push
   (device tokens), in alternating rounds in the same process; and POST
   /api/v1/measurements/multiple against the native batch with the same measurements per
   request (5, as the v2 agent sends its backlog, and 1,000), 4 connections, one token.

After every phase `school-monitor rollups verify` recomputes every derived figure from the
raw rows: a figure counts only with verify at zero differences. Every guarantee of the
production path is in the measured path: one transaction per batch or group commit,
acknowledgement after commit, de-duplication by UUID, the production schema and indexes.

The load generator is one Python process (httpx.AsyncClient) on the same 2-core machine as
the server: it competes with the server for CPU, which lowers absolute figures; the ratios
compare like with like (same client for the figure and its baseline).
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from c2r_common.auth import mint_token
from c2r_common.migrations import upgrade_to_head
from c2r_common.settings import DEVELOPMENT_JWT_SECRET
from school_monitor.gigameter.examples import agent_measurement

ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = ROOT / "services" / "school-monitor" / "alembic.ini"
OUT_DIR = ROOT / "build" / "bench"
PG_SERVER = os.environ.get("C2R_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
INGEST_COUNTRY, SUMMARY_COUNTRY, IMPORT_COUNTRY = "RWA", "NER", "UGA"
SCHOOLS_PER_BATCH = 100
# The raw baselines' rows carry no derived figures: they are deleted after each baseline, so
# that verify (every derived figure recomputed from the raw rows) holds after every phase.
RAW_SOURCE = "bench-raw-baseline"


@dataclass(frozen=True)
class Sizes:
    ingest_measurements: int
    ingest_schools: int
    single_seconds: float
    summary_schools: int
    summary_measurements: int
    summary_requests: int
    raw_repeats: int


FULL = Sizes(200_000, 1_000, 15.0, 100_000, 10_000_000, 400, 1)
QUICK = Sizes(30_000, 200, 4.0, 10_000, 300_000, 150, 1)


# --- the service process and its memory ------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Service:
    database_url: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    rss_samples: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = os.environ | {
            "C2R_SCHOOLS_DATABASE_URL": self.database_url,
            "C2R_SCHOOLS_LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "school_monitor", "serve", "--port", str(self.port)]
        log = open(OUT_DIR / "school-monitor-bench.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        threading.Thread(target=self._sample, daemon=True).start()

    def _sample(self) -> None:
        assert self.process is not None
        while not self._stop.is_set() and self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.rss_samples.append(rss_mb(self.process.pid))
            time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    async def wait_ready(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            for _ in range(600):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        raise RuntimeError("school-monitor did not become ready")


# --- databases ---------------------------------------------------------------------------


class Backend:
    """Raw access to the service's database, for bulk loads and raw-row baselines."""

    name: str
    url: str

    async def execute(self, sql: str) -> None:
        raise NotImplementedError

    async def bulk_insert_measurements(
        self, rows: list[tuple[Any, ...]], per_commit: int | None = None
    ) -> None:
        """Inserts the rows in one transaction, or committing every `per_commit` rows."""
        raise NotImplementedError

    async def empty_measurements(self) -> None:
        raise NotImplementedError

    async def remove_raw_baseline(self) -> None:
        """Deletes the rows a raw baseline inserted (they have no derived figures)."""
        await self.execute(f"DELETE FROM measurements WHERE source = '{RAW_SOURCE}'")

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    async def close(self) -> None:
        pass


KEY_COLUMNS = ["uuid", "stored_at"]  # PostgreSQL's measurement_keys
MEASUREMENT_COLUMNS = (
    "uuid",
    "school_id",
    "measured_at",
    "received_at",
    "download_mbps",
    "upload_mbps",
    "latency_ms",
    "source",
)


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = f"sqlite+aiosqlite:///{path}"

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, isolation_level=None, timeout=60)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA cache_size=-400000")
        return connection

    async def execute(self, sql: str) -> None:
        def run() -> None:
            with contextlib.closing(self._connect()) as connection:
                connection.execute("BEGIN")
                connection.execute(sql)
                connection.execute("COMMIT")

        await asyncio.to_thread(run)

    async def bulk_insert_measurements(
        self, rows: list[tuple[Any, ...]], per_commit: int | None = None
    ) -> None:
        # The service stores UUIDs as 32 hex digits and times as naive UTC on SQLite.
        converted = [(r[0].hex, r[1].hex, _naive(r[2]), _naive(r[3]), *r[4:]) for r in rows]
        placeholders = ",".join("?" * len(MEASUREMENT_COLUMNS))
        sql = f"INSERT INTO measurements ({','.join(MEASUREMENT_COLUMNS)}) VALUES ({placeholders})"
        step = per_commit or len(converted)

        def run() -> None:
            with contextlib.closing(self._connect()) as connection:
                for start in range(0, len(converted), step):
                    connection.execute("BEGIN")
                    connection.executemany(sql, converted[start : start + step])
                    connection.execute("COMMIT")

        await asyncio.to_thread(run)

    async def empty_measurements(self) -> None:
        await self.execute("DELETE FROM measurements")

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            with contextlib.closing(self._connect()) as connection:
                return list(connection.execute(sql.replace("$1", "?"), args).fetchall())

        return await asyncio.to_thread(run)


def _naive(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self, database: str) -> None:
        self.database = database
        server = PG_SERVER.rsplit("/", 1)[0]
        self.dsn = f"{server}/{database}"
        self.url = self.dsn.replace("postgresql://", "postgresql+asyncpg://")
        self.connection: asyncpg.Connection | None = None

    async def _conn(self) -> asyncpg.Connection:
        if self.connection is None:
            self.connection = await asyncpg.connect(self.dsn)
        return self.connection

    async def execute(self, sql: str) -> None:
        await (await self._conn()).execute(sql)

    async def bulk_insert_measurements(
        self, rows: list[tuple[Any, ...]], per_commit: int | None = None
    ) -> None:
        # Like the service, each row's UUID goes into the key table that keeps them
        # unique across the monthly partitions, in the same transaction.
        connection = await self._conn()
        step = per_commit or len(rows)
        for start in range(0, len(rows), step):
            part = rows[start : start + step]
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "measurement_keys", records=[(r[0], r[3]) for r in part], columns=KEY_COLUMNS
                )
                await connection.copy_records_to_table(
                    "measurements", records=part, columns=list(MEASUREMENT_COLUMNS)
                )

    async def empty_measurements(self) -> None:
        await self.execute("TRUNCATE measurements, measurement_keys")

    async def remove_raw_baseline(self) -> None:
        await self.execute(
            "WITH raw AS (DELETE FROM measurements WHERE source = "
            f"'{RAW_SOURCE}' RETURNING uuid) "
            "DELETE FROM measurement_keys WHERE uuid IN (SELECT uuid FROM raw)"
        )

    async def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in await (await self._conn()).fetch(sql, *args)]

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()


def remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextlib.asynccontextmanager
async def fresh_backend(kind: str) -> Any:
    if kind == "sqlite":
        folder = OUT_DIR / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "school-monitor-bench.db"
        await asyncio.to_thread(remove_sqlite_files, path)
        backend: Backend = SqliteBackend(path)
        await asyncio.to_thread(upgrade_to_head, ALEMBIC_INI, backend.url)
        try:
            yield backend
        finally:
            await asyncio.to_thread(remove_sqlite_files, path)
        return
    name = f"c2r_bench_school_monitor_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(PG_SERVER)
    await admin.execute(f'CREATE DATABASE "{name}"')
    backend = PostgresBackend(name)
    await asyncio.to_thread(upgrade_to_head, ALEMBIC_INI, backend.url)
    try:
        yield backend
    finally:
        await backend.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# --- load generation ---------------------------------------------------------------------


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


async def import_schools(http: httpx.AsyncClient, country: str, count: int, prefix: str) -> None:
    lines = ["school_id_giga,school_name,admin1,latitude,longitude,country_iso3_code"]
    lines += [
        f"{prefix}-{i:07d},School {i},Region {i % 5},-2.0,30.0,{country}" for i in range(count)
    ]
    response = await http.post(
        "/v1/schools/import",
        content="\n".join(lines).encode(),
        headers={"Content-Type": "text/csv"},
        timeout=600,
    )
    response.raise_for_status()


async def school_ids(http: httpx.AsyncClient, country: str, count: int) -> list[str]:
    return [school_id for school_id, _ in await schools_with_giga_ids(http, country, count)]


def measurement_item(school_id: str, at: datetime, n: int) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "school_id": school_id,
        "measured_at": at.isoformat(),
        "download_mbps": 0.5 + (n % 400) / 10,
        "upload_mbps": 0.2 + (n % 100) / 10,
        "latency_ms": 20.0 + n % 200,
        "source": "DailyCheckApp",
    }


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def raw_rows(schools: list[str], now: datetime, count: int) -> list[tuple[Any, ...]]:
    """Rows equivalent to the HTTP phase's measurements, with new UUIDs."""
    school_uuids = [uuid.UUID(s) for s in schools]
    return [
        (
            uuid.uuid4(),
            school_uuids[n % len(school_uuids)],
            now - timedelta(seconds=n % 1000),
            now,
            0.5 + (n % 400) / 10,
            0.2 + (n % 100) / 10,
            20.0 + n % 200,
            RAW_SOURCE,
        )
        for n in range(count)
    ]


async def raw_insert_rate(
    backend: Backend, rows: list[tuple[Any, ...]], per_commit: int | None = None
) -> float:
    started = time.perf_counter()
    await backend.bulk_insert_measurements(rows, per_commit)
    return len(rows) / (time.perf_counter() - started)


async def bench_batch_ingest(
    service: Service, backend: Backend, admin_token: str, sizes: Sizes
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers(admin_token)) as http:
        schools = await school_ids(http, INGEST_COUNTRY, sizes.ingest_schools)
    now = datetime.now(UTC)
    batches = sizes.ingest_measurements // 1000
    # Serialised before the clock starts: the client is not measured.
    bodies = batch_bodies(schools, now, batches)
    # The floor: the same raw insert committed every 1,000 rows, as acknowledging after
    # commit requires, into the same empty table as the HTTP phase then starts with.
    floor_rate = await raw_insert_rate(backend, raw_rows(schools, now, batches * 1000), 1000)
    await backend.empty_measurements()
    connections = 4
    stored, retries, http_seconds = await post_batches(
        [service.base_url], bodies, admin_token, connections
    )
    http_rate = stored / http_seconds

    differences = await asyncio.to_thread(verify_differences, backend.url)
    # Raw baseline: the same number of equivalent rows, straight into the same table.
    raw_rate = await raw_insert_rate(backend, raw_rows(schools, now, batches * 1000))
    await backend.remove_raw_baseline()
    return {
        "measurements": stored,
        "batch_size": 1000,
        "schools_per_batch": SCHOOLS_PER_BATCH,
        "connections": connections,
        "retried_503": retries,
        "http_per_second": round(http_rate),
        "raw_bulk_per_second": round(raw_rate),
        "raw_bulk_method": "COPY" if backend.name == "postgresql" else "executemany, one txn",
        "ratio_to_raw": round(http_rate / raw_rate, 3),
        "raw_committed_per_batch_per_second": round(floor_rate),
        "ratio_to_raw_committed_per_batch": round(http_rate / floor_rate, 3),
        "target_per_second": 50_000,
        "target_ratio_to_raw": 0.25,
        "verify_differences": differences,
    }


@dataclass(frozen=True)
class BatchRoute:
    path: str
    stored: Any  # the response's JSON -> how many were stored


NATIVE_BATCH = BatchRoute("/v1/measurements/batch", lambda answer: answer["stored"])
GIGA_BACKLOG = BatchRoute("/api/v1/measurements/multiple", lambda answer: answer["data"]["stored"])


async def post_batches(
    base_urls: list[str],
    bodies: list[bytes],
    admin_token: str,
    connections: int,
    route: BatchRoute = NATIVE_BATCH,
) -> tuple[int, int, float]:
    """Posts the batches over `connections` connections shared out over the services;
    (measurements stored, 503s retried, seconds)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    stored = retries = 0

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal stored, retries
        while not queue.empty():
            body = queue.get_nowait()
            while True:  # an agent retries a batch the service asks it to retry
                response = await http.post(route.path, content=body, timeout=120)
                if response.status_code != 503:
                    break
                retries += 1
            response.raise_for_status()
            stored += route.stored(response.json())

    per_service = max(1, connections // len(base_urls))
    limits = httpx.Limits(max_connections=per_service)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, headers=headers(admin_token), limits=limits)
            )
            for url in base_urls
        ]
        started = time.perf_counter()
        await asyncio.gather(*(worker(http) for http in clients for _ in range(per_service)))
        return stored, retries, time.perf_counter() - started


def batch_bodies(schools: list[str], now: datetime, batches: int) -> list[bytes]:
    """Batches of 1,000, each over SCHOOLS_PER_BATCH schools (a relay forwarding several
    agents' backlogs): each school's row is locked and updated once per batch."""
    bodies = []
    for b in range(batches):
        first = (b * SCHOOLS_PER_BATCH) % len(schools)
        items = [
            measurement_item(
                schools[(first + i % SCHOOLS_PER_BATCH) % len(schools)],
                now - timedelta(seconds=i),
                i,
            )
            for i in range(1000)
        ]
        bodies.append(json.dumps({"items": items}).encode())
    return bodies


async def bench_two_processes(
    backend: Backend, admin_token: str, sizes: Sizes, first: Service
) -> dict[str, Any]:
    """Batch ingestion shared out over two service processes on one database (replicas),
    for the same schools and country at once; verified afterwards."""
    second = Service(backend.url)
    second.start()
    try:
        await second.wait_ready()
        async with httpx.AsyncClient(base_url=first.base_url, headers=headers(admin_token)) as http:
            schools = await school_ids(http, INGEST_COUNTRY, sizes.ingest_schools)
        bodies = batch_bodies(schools, datetime.now(UTC), sizes.ingest_measurements // 2000)
        stored, retries, seconds = await post_batches(
            [first.base_url, second.base_url], bodies, admin_token, 4
        )
    finally:
        second.stop()
    return {
        "processes": 2,
        "measurements": stored,
        "retried_503": retries,
        "http_per_second": round(stored / seconds),
        "max_rss_mb_second_process": round(max(second.rss_samples, default=0.0), 1),
    }


def verify_differences(database_url: str, country: str | None = None) -> int:
    """What `school-monitor rollups verify` finds: every derived figure recomputed from the
    raw rows and compared; the number of differences (0 when exact)."""
    env = os.environ | {"C2R_SCHOOLS_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "school_monitor", "rollups", "verify"]
    if country is not None:
        command += ["--country", country]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"verify failed: {done.stderr}")
    if done.returncode == 0:
        return 0
    print(done.stdout[-2000:], file=sys.stderr)
    return max(1, sum(1 for line in done.stdout.splitlines() if line.strip()))


class RawHttpClient:
    """A minimal keep-alive HTTP/1.1 client on one connection.

    httpx.AsyncClient collapses at 64 concurrent connections in one process (about 130
    requests/s on this machine against a server that answers 5,000/s), which would measure
    the client, not the service; this client costs a few microseconds per request.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        assert self.reader is not None
        assert self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body_read = await self.reader.readexactly(length)
        if status >= 300:
            raise RuntimeError(f"{status}: {body_read[:300]!r}")
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def closed_loop(port: int, clients: int, seconds: float, request: Any) -> list[float]:
    """`clients` concurrent clients, each sending its next request when the last answers;
    the latency of every request."""
    latencies: list[float] = []
    connections = [RawHttpClient(port) for _ in range(clients)]
    for connection in connections:
        await connection.connect()
    deadline = time.perf_counter() + seconds

    async def client(number: int) -> None:
        sent = 0
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await request(connections[number], number, sent)
            latencies.append(time.perf_counter() - started)
            sent += 1

    await asyncio.gather(*(client(n) for n in range(clients)))
    for connection in connections:
        connection.close()
    return latencies


async def bench_single_pushes(service: Service, admin_token: str, sizes: Sizes) -> dict[str, Any]:
    clients = 64
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers(admin_token)) as http:
        schools = await school_ids(http, INGEST_COUNTRY, clients)
        tokens = []
        for n, school in enumerate(schools):
            body = {"school_id": school, "hardware_id": f"bench-device-{n}-{uuid.uuid4().hex}"}
            tokens.append((await http.post("/v1/agents", json=body)).json()["token"])
    device_headers = [headers(token) for token in tokens]

    async def healthz(http: RawHttpClient, number: int, sent: int) -> int:
        return await http.request("GET", "/healthz", {}, b"")

    async def push(http: RawHttpClient, number: int, sent: int) -> int:
        item = measurement_item(schools[number], datetime.now(UTC), sent)
        del item["school_id"]  # the device token names the school
        body = json.dumps(item).encode()
        return await http.request("POST", "/v1/measurements", device_headers[number], body)

    # Warm-up (connections, token caches, statement caches), same for both, not measured.
    await closed_loop(service.port, clients, 1.0, healthz)
    trivial_latencies = await closed_loop(service.port, clients, sizes.single_seconds, healthz)
    await closed_loop(service.port, clients, 1.0, push)
    push_latencies = await closed_loop(service.port, clients, sizes.single_seconds, push)
    trivial_rps = len(trivial_latencies) / sizes.single_seconds
    push_rps = len(push_latencies) / sizes.single_seconds
    return {
        "clients": clients,
        "seconds": sizes.single_seconds,
        "push_per_second": round(push_rps),
        "trivial_per_second": round(trivial_rps),
        "ratio_to_trivial": round(push_rps / trivial_rps, 3),
        "push_p50_ms": round(percentile(push_latencies, 50) * 1000, 1),
        "push_p99_ms": round(percentile(push_latencies, 99) * 1000, 1),
        "trivial_p99_ms": round(percentile(trivial_latencies, 99) * 1000, 1),
        "target_ratio_to_trivial": 0.4,
        "target_p99_ms": 100,
    }


# --- the 10M-measurement country ----------------------------------------------------------

PG_LOAD = """
INSERT INTO measurements (uuid, school_id, measured_at, received_at, download_mbps,
                          upload_mbps, latency_ms, source)
SELECT gen_random_uuid(), s.id,
       now() - (random() * interval '30 days'), now(),
       round((random() * 60)::numeric, 2), round((random() * 20)::numeric, 2),
       round((10 + random() * 300)::numeric, 1), 'DailyCheckApp'
FROM schools s CROSS JOIN generate_series(1, {per_school})
WHERE s.country_iso3 = '{iso3}'
"""

SQLITE_LOAD = """
INSERT INTO measurements (uuid, school_id, measured_at, received_at, download_mbps,
                          upload_mbps, latency_ms, source)
WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < {per_school})
SELECT lower(hex(randomblob(16))), s.id,
       datetime('now', printf('-%d seconds', abs(random()) % 2592000)),
       datetime('now'),
       round((abs(random()) % 6000) / 100.0, 2), round((abs(random()) % 2000) / 100.0, 2),
       round(10 + (abs(random()) % 3000) / 10.0, 1), 'DailyCheckApp'
FROM schools s CROSS JOIN n
WHERE s.country_iso3 = '{iso3}'
"""

# What ingestion would have maintained, derived once from the generated rows.
DERIVE = [
    """
INSERT INTO school_daily (school_id, day, country_iso3, measurement_count, download_sum,
  download_min, download_max, upload_sum, upload_min, upload_max, latency_sum, latency_min,
  latency_max, ping_count, ping_connected_count)
SELECT m.school_id, {day}, '{iso3}', count(*), sum(download_mbps), min(download_mbps),
  max(download_mbps), sum(upload_mbps), min(upload_mbps), max(upload_mbps), sum(latency_ms),
  min(latency_ms), max(latency_ms), 0, 0
FROM measurements m JOIN schools s ON s.id = m.school_id
WHERE s.country_iso3 = '{iso3}'
GROUP BY m.school_id, {day}
""",
    """
INSERT INTO country_daily (country_iso3, day, schools_reporting, measurement_count,
  download_sum, download_min, download_max, upload_sum, upload_min, upload_max, latency_sum,
  latency_min, latency_max, ping_count, ping_connected_count)
SELECT country_iso3, day, count(*), sum(measurement_count), sum(download_sum),
  min(download_min), max(download_max), sum(upload_sum), min(upload_min), max(upload_max),
  sum(latency_sum), min(latency_min), max(latency_max), 0, 0
FROM school_daily WHERE country_iso3 = '{iso3}' GROUP BY country_iso3, day
""",
    """
UPDATE schools SET
  last_measurement_at = latest.measured_at, last_seen_at = latest.measured_at,
  latest_download_mbps = latest.download_mbps, latest_upload_mbps = latest.upload_mbps,
  latest_latency_ms = latest.latency_ms,
  is_online = latest.measured_at >= {online_since},
  connectivity_status = CASE WHEN latest.download_mbps > 20 THEN 'good'
    WHEN latest.download_mbps >= 1 THEN 'moderate' ELSE 'bad' END
FROM ({latest}) AS latest
WHERE schools.id = latest.school_id
""",
    """
UPDATE country_stats SET
  good = (SELECT count(*) FROM schools
          WHERE country_iso3 = '{iso3}' AND connectivity_status = 'good'),
  moderate = (SELECT count(*) FROM schools
              WHERE country_iso3 = '{iso3}' AND connectivity_status = 'moderate'),
  bad = (SELECT count(*) FROM schools
         WHERE country_iso3 = '{iso3}' AND connectivity_status = 'bad'),
  unknown = (SELECT count(*) FROM schools
             WHERE country_iso3 = '{iso3}' AND connectivity_status = 'unknown'),
  with_data = (SELECT count(latest_download_mbps) FROM schools WHERE country_iso3 = '{iso3}'),
  download_sum = (SELECT coalesce(sum(latest_download_mbps), 0) FROM schools
                  WHERE country_iso3 = '{iso3}'),
  upload_sum = (SELECT coalesce(sum(latest_upload_mbps), 0) FROM schools
                WHERE country_iso3 = '{iso3}'),
  latency_sum = (SELECT coalesce(sum(latest_latency_ms), 0) FROM schools
                 WHERE country_iso3 = '{iso3}')
WHERE country_iso3 = '{iso3}'
""",
]

LATEST = """
SELECT school_id, measured_at, download_mbps, upload_mbps, latency_ms FROM (
  SELECT m.school_id, m.measured_at, m.download_mbps, m.upload_mbps, m.latency_ms,
         row_number() OVER (PARTITION BY m.school_id ORDER BY m.measured_at DESC, m.uuid DESC) AS rn
  FROM measurements m JOIN schools s ON s.id = m.school_id
  WHERE s.country_iso3 = '{iso3}'
) ranked WHERE rn = 1
"""


def derive_sql(kind: str, iso3: str) -> list[str]:
    day = (
        "(m.measured_at AT TIME ZONE 'UTC')::date"
        if kind == "postgresql"
        else "date(m.measured_at)"
    )
    online_since = (
        "now() - interval '60 minutes'"
        if kind == "postgresql"
        else "datetime('now', '-60 minutes')"
    )
    latest = LATEST.format(iso3=iso3)
    return [
        sql.format(day=day, iso3=iso3, latest=latest, online_since=online_since) for sql in DERIVE
    ]


async def raw_country_answer(backend: Backend, iso3: str) -> dict[str, Any]:
    """The summary computed from raw rows: the latest measurement of every school, then
    counts, medians and means over those, plus schools with data in the last 24 h."""
    latest = await backend.fetch(LATEST.format(iso3=iso3))
    total = (await backend.fetch("SELECT count(*) FROM schools WHERE country_iso3 = $1", iso3))[0][
        0
    ]
    since = (
        "now() - interval '24 hours'"
        if backend.name == "postgresql"
        else "datetime('now', '-24 hours')"
    )
    reporting = await backend.fetch(
        "SELECT count(DISTINCT m.school_id) FROM measurements m JOIN schools s "
        f"ON s.id = m.school_id WHERE s.country_iso3 = $1 AND m.measured_at >= {since}",
        iso3,
    )
    downloads = [row[2] for row in latest]
    good = sum(1 for d in downloads if d > 20)
    moderate = sum(1 for d in downloads if 1 <= d <= 20)
    return {
        "schools_total": total,
        "good": good,
        "moderate": moderate,
        "bad": len(downloads) - good - moderate,
        "reporting_24h": reporting[0][0],
        "download_median": statistics.median(downloads) if downloads else None,
        "download_mean": statistics.fmean(downloads) if downloads else None,
        "upload_median": statistics.median(row[3] for row in latest) if latest else None,
        "latency_median": statistics.median(row[4] for row in latest) if latest else None,
    }


async def bench_country_summary(
    service: Service, backend: Backend, admin_token: str, sizes: Sizes
) -> dict[str, Any]:
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers(admin_token)) as http:
        await import_schools(http, SUMMARY_COUNTRY, sizes.summary_schools, "bench-ner")
    per_school = sizes.summary_measurements // sizes.summary_schools
    template = PG_LOAD if backend.name == "postgresql" else SQLITE_LOAD
    await backend.execute(template.format(per_school=per_school, iso3=SUMMARY_COUNTRY))
    for sql in derive_sql(backend.name, SUMMARY_COUNTRY):
        await backend.execute(sql)
    # What autovacuum does in production after a bulk load: statistics and visibility map.
    await backend.execute("VACUUM ANALYZE" if backend.name == "postgresql" else "ANALYZE")
    load_seconds = time.perf_counter() - started

    raw_times = []
    raw_answer: dict[str, Any] = {}
    for _ in range(sizes.raw_repeats):
        began = time.perf_counter()
        raw_answer = await raw_country_answer(backend, SUMMARY_COUNTRY)
        raw_times.append(time.perf_counter() - began)

    latencies = []
    summary: dict[str, Any] = {}
    path = f"/v1/connectivity/countries/{SUMMARY_COUNTRY}"
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers(admin_token)) as http:
        for _ in range(10):  # warm-up
            await http.get(path)
        for _ in range(sizes.summary_requests):
            began = time.perf_counter()
            response = await http.get(path)
            latencies.append(time.perf_counter() - began)
            response.raise_for_status()
            summary = response.json()
    p95 = percentile(latencies, 95)
    raw = min(raw_times)
    counts = summary["schools_by_status"]
    same_counts = summary["schools_total"] == raw_answer["schools_total"] and (
        counts["good"],
        counts["moderate"],
        counts["bad"],
    ) == (raw_answer["good"], raw_answer["moderate"], raw_answer["bad"])
    same_medians = all(
        abs(summary[ours] - raw_answer[theirs]) < 1e-6
        for ours, theirs in (
            ("download_mbps_median", "download_median"),
            ("upload_mbps_median", "upload_median"),
            ("latency_ms_median", "latency_median"),
        )
    )
    # The raw computation takes seconds, so its 24-hour window ends a little earlier than
    # the endpoint's: schools whose latest data sits in that sliver differ.
    reporting_gap = summary["schools_reporting_24h"] - raw_answer["reporting_24h"]
    return {
        "schools": sizes.summary_schools,
        "measurements": per_school * sizes.summary_schools,
        "load_seconds": round(load_seconds, 1),
        "endpoint_p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "endpoint_p95_ms": round(p95 * 1000, 2),
        "raw_rows_ms": round(raw * 1000, 1),
        "speedup_vs_raw": round(raw / p95, 1),
        "same_counts_as_raw": same_counts,
        "same_medians_as_raw": same_medians,
        "reporting_24h_minus_raw": reporting_gap,
        "target_p95_ms": 25,
        "target_speedup": 100,
    }


IMPORT_ROWS = {FULL: 100_000, QUICK: 10_000}
IMPORT_AGENTS = 8


async def bench_push_during_import(
    service: Service, admin_token: str, sizes: Sizes
) -> dict[str, Any]:
    rows = IMPORT_ROWS[sizes]
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers(admin_token)) as http:
        schools = await school_ids(http, INGEST_COUNTRY, IMPORT_AGENTS)
        tokens = []
        for n, school in enumerate(schools):
            body = {"school_id": school, "hardware_id": f"bench-import-{n}-{uuid.uuid4().hex}"}
            tokens.append((await http.post("/v1/agents", json=body)).json()["token"])
    device_headers = [headers(token) for token in tokens]
    lines = ["school_id_giga,school_name,admin1,latitude,longitude,country_iso3_code"]
    lines += [
        f"bench-uga-{i:07d},School {i},Region {i % 5},1.0,32.0,{IMPORT_COUNTRY}"
        for i in range(rows)
    ]
    csv_body = "\n".join(lines).encode()

    async def push(http: RawHttpClient, number: int, sent: int) -> int:
        item = measurement_item(schools[number], datetime.now(UTC), sent)
        del item["school_id"]  # the device token names the school
        body = json.dumps(item).encode()
        return await http.request("POST", "/v1/measurements", device_headers[number], body)

    await closed_loop(service.port, IMPORT_AGENTS, 1.0, push)  # warm-up
    quiet = await closed_loop(service.port, IMPORT_AGENTS, 3.0, push)
    connections = [RawHttpClient(service.port) for _ in range(IMPORT_AGENTS)]
    for connection in connections:
        await connection.connect()
    during: list[float] = []

    async def agent(number: int, importing: asyncio.Task[httpx.Response]) -> None:
        sent = 0
        while not importing.done():
            began = time.perf_counter()
            await push(connections[number], number, sent)
            during.append(time.perf_counter() - began)
            sent += 1

    async with httpx.AsyncClient(base_url=service.base_url, headers=headers(admin_token)) as http:
        started = time.perf_counter()
        importing = asyncio.create_task(
            http.post(
                "/v1/schools/import",
                content=csv_body,
                headers={"Content-Type": "text/csv"},
                timeout=600,
            )
        )
        await asyncio.gather(*(agent(n, importing) for n in range(IMPORT_AGENTS)))
        response = await importing
        import_seconds = time.perf_counter() - started
    for connection in connections:
        connection.close()
    response.raise_for_status()
    return {
        "import_rows": rows,
        "import_created": response.json()["created"],
        "import_seconds": round(import_seconds, 1),
        "import_rows_per_second": round(rows / import_seconds),
        "agents": IMPORT_AGENTS,
        "pushes_during_import": len(during),
        "push_p50_ms": round(percentile(during, 50) * 1000, 1),
        "push_p99_ms": round(percentile(during, 99) * 1000, 1),
        "push_max_ms": round(max(during) * 1000, 1),
        "quiet_push_p99_ms": round(percentile(quiet, 99) * 1000, 1),
        "target_p99_ms": 500,
    }


# --- Giga Meter agents -------------------------------------------------------------------


async def schools_with_giga_ids(
    http: httpx.AsyncClient, country: str, count: int
) -> list[tuple[str, str]]:
    """(id, Giga id) of `count` schools of the country."""
    found: list[tuple[str, str]] = []
    cursor = None
    while len(found) < count:
        params: dict[str, Any] = {"country": country, "limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get("/v1/schools", params=params)).json()
        found += [(s["id"], s["giga_id"]) for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return found[:count]


def giga_template(giga_id: str, browser_id: str, at: datetime) -> str:
    """The agent's payload (about 1.9 KB, compact like JSON.stringify) with a placeholder
    for its UUID: a new measurement per request costs the client a string replace."""
    payload = agent_measurement(giga_id, measured_at=at, test_id=UUID_PLACEHOLDER)
    payload["BrowserID"] = browser_id
    return json.dumps(payload, separators=(",", ":"))


UUID_PLACEHOLDER = "00000000-uuid-of-the-measurement-000000"


def giga_body(template: str) -> bytes:
    return template.replace(UUID_PLACEHOLDER, str(uuid.uuid4())).encode()


async def register_agents(
    http: httpx.AsyncClient, schools: list[tuple[str, str]], label: str
) -> list[dict[str, Any]]:
    agents = []
    for n, (school_id, _) in enumerate(schools):
        body = {"school_id": school_id, "hardware_id": f"bench-{label}-{n}-{uuid.uuid4().hex}"}
        response = await http.post("/v1/agents", json=body)
        response.raise_for_status()
        agents.append(response.json())
    return agents


async def bench_giga_single(service: Service, admin_token: str, sizes: Sizes) -> dict[str, Any]:
    """The Giga Meter single POST (the agent's payload, its deployment key, each client a
    registered device) against the native single push (device tokens), 64 clients each,
    measured in turns in the same process so that both see the same machine."""
    clients = 64
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers(admin_token)) as http:
        schools = await schools_with_giga_ids(http, INGEST_COUNTRY, clients)
        agents = await register_agents(http, schools, "giga")
        key = await http.post(
            "/v1/agents/deployment-keys", json={"name": "bench build", "countries": ["RWA"]}
        )
        key.raise_for_status()
    native_headers = [headers(agent["token"]) for agent in agents]
    key_headers = headers(key.json()["key"])
    taken = datetime.now(UTC) - timedelta(minutes=1)
    templates = [
        giga_template(giga_id, agent["id"], taken)
        for (_, giga_id), agent in zip(schools, agents, strict=True)
    ]

    async def native(http: RawHttpClient, number: int, sent: int) -> int:
        item = measurement_item(schools[number][0], datetime.now(UTC), sent)
        del item["school_id"]  # the device token names the school
        body = json.dumps(item).encode()
        return await http.request("POST", "/v1/measurements", native_headers[number], body)

    async def giga(http: RawHttpClient, number: int, sent: int) -> int:
        body = giga_body(templates[number])
        return await http.request("POST", "/api/v1/measurements", key_headers, body)

    latencies: dict[str, list[float]] = {"native": [], "giga": []}
    for push in (native, giga):  # warm-up, not measured
        await closed_loop(service.port, clients, 1.0, push)
    for _ in range(GIGA_ROUNDS):
        for name, push in (("native", native), ("giga", giga)):
            latencies[name] += await closed_loop(service.port, clients, sizes.single_seconds, push)
    seconds = GIGA_ROUNDS * sizes.single_seconds
    native_rps, giga_rps = (len(latencies[n]) / seconds for n in ("native", "giga"))
    return {
        "clients": clients,
        "seconds_each": seconds,
        "payload_bytes": len(giga_body(templates[0])),
        "giga_per_second": round(giga_rps),
        "native_per_second": round(native_rps),
        "ratio_to_native": round(giga_rps / native_rps, 3),
        "giga_p50_ms": round(percentile(latencies["giga"], 50) * 1000, 1),
        "giga_p99_ms": round(percentile(latencies["giga"], 99) * 1000, 1),
        "native_p99_ms": round(percentile(latencies["native"], 99) * 1000, 1),
        "target_ratio_to_native": 0.8,
        "target_p99_ms": 100,
    }


GIGA_ROUNDS = 2
# The v2 agent posts its backlog 5 at a time; a relay forwarding many agents' backlogs
# would post far more.
BACKLOG_SIZES = (5, 1000)


def giga_backlog_bodies(
    schools: list[tuple[str, str]], per_request: int, requests: int
) -> tuple[list[bytes], list[bytes]]:
    """The same measurements as native batches and as Giga Meter backlogs."""
    native, giga = [], []
    now = datetime.now(UTC)
    for r in range(requests):
        first = (r * SCHOOLS_PER_BATCH) % len(schools)
        picked = [
            schools[(first + i % SCHOOLS_PER_BATCH) % len(schools)] for i in range(per_request)
        ]
        taken = [now - timedelta(seconds=i + 1) for i in range(per_request)]
        items = [
            measurement_item(school_id, at, i)
            for i, ((school_id, _), at) in enumerate(zip(picked, taken, strict=True))
        ]
        native.append(json.dumps({"items": items}).encode())
        payloads = [
            agent_measurement(giga_id, measured_at=at, app_version="2.0.4")
            | {"BrowserID": f"bench-browser-{giga_id}"}  # one per device, as the agent's
            for (_, giga_id), at in zip(picked, taken, strict=True)
        ]
        giga.append(json.dumps(payloads, separators=(",", ":")).encode())
    return native, giga


async def bench_giga_backlog(service: Service, admin_token: str, sizes: Sizes) -> dict[str, Any]:
    """POST /api/v1/measurements/multiple against the native batch, the same measurements
    per request, 4 connections, the same token."""
    async with httpx.AsyncClient(base_url=service.base_url, headers=headers(admin_token)) as http:
        schools = await schools_with_giga_ids(http, INGEST_COUNTRY, sizes.ingest_schools)
    results: dict[str, Any] = {}
    for per_request in BACKLOG_SIZES:
        total = sizes.ingest_measurements // (4 if per_request > 5 else 20)
        native, giga = giga_backlog_bodies(schools, per_request, total // per_request)
        native_stored, _, native_seconds = await post_batches(
            [service.base_url], native, admin_token, 4
        )
        giga_stored, _, giga_seconds = await post_batches(
            [service.base_url], giga, admin_token, 4, GIGA_BACKLOG
        )
        native_rate, giga_rate = native_stored / native_seconds, giga_stored / giga_seconds
        results[f"per_request_{per_request}"] = {
            "measurements": giga_stored,
            "giga_per_second": round(giga_rate),
            "native_per_second": round(native_rate),
            "ratio_to_native": round(giga_rate / native_rate, 3),
        }
    return results | {"target_ratio_to_native": 0.5}


# --- driver --------------------------------------------------------------------------------


async def run_for(kind: str, sizes: Sizes, only: set[str]) -> dict[str, Any]:
    async with fresh_backend(kind) as backend:
        service = Service(backend.url)
        service.start()
        try:
            await service.wait_ready()
            token = mint_token(DEVELOPMENT_JWT_SECRET, subject="bench", scopes=["admin"])
            async with httpx.AsyncClient(base_url=service.base_url, headers=headers(token)) as http:
                await import_schools(http, INGEST_COUNTRY, sizes.ingest_schools, "bench-rwa")
            print(f"[{kind}] batch ingestion ...", file=sys.stderr)
            batch = (
                await bench_batch_ingest(service, backend, token, sizes) if "batch" in only else {}
            )
            print(f"[{kind}] single pushes ...", file=sys.stderr)
            single = await bench_single_pushes(service, token, sizes) if "single" in only else {}
            if single:
                single["verify_differences"] = await asyncio.to_thread(
                    verify_differences, backend.url
                )
            replicas: dict[str, Any] = {}
            if kind == "postgresql" and "replicas" in only:
                print(f"[{kind}] batch ingestion through two processes ...", file=sys.stderr)
                replicas = await bench_two_processes(backend, token, sizes, service)
                replicas["verify_differences"] = await asyncio.to_thread(
                    verify_differences, backend.url
                )
            print(f"[{kind}] country summary (loading) ...", file=sys.stderr)
            summary = (
                await bench_country_summary(service, backend, token, sizes)
                if "summary" in only
                else {}
            )
            if summary:
                # The summary's 10 M rows were generated in the database, not ingested:
                # verify checks the country the service ingested into.
                print(f"[{kind}] verify after the summary load ...", file=sys.stderr)
                summary["verify_differences"] = await asyncio.to_thread(
                    verify_differences, backend.url, INGEST_COUNTRY
                )
            giga: dict[str, Any] = {}
            if only & {"giga", "giga-single"}:
                print(f"[{kind}] Giga Meter single pushes ...", file=sys.stderr)
                giga["single"] = await bench_giga_single(service, token, sizes)
            if only & {"giga", "giga-backlog"}:
                print(f"[{kind}] Giga Meter backlogs ...", file=sys.stderr)
                giga["backlog"] = await bench_giga_backlog(service, token, sizes)
            if giga:
                giga["verify_differences"] = await asyncio.to_thread(
                    verify_differences, backend.url, INGEST_COUNTRY
                )
            during_import: dict[str, Any] = {}
            if "import" in only:
                print(f"[{kind}] pushes during a CSV import ...", file=sys.stderr)
                during_import = await bench_push_during_import(service, token, sizes)
                # The pushes' country, and the imported schools' (their counters).
                during_import["verify_differences"] = sum(
                    [
                        await asyncio.to_thread(verify_differences, backend.url, country)
                        for country in (INGEST_COUNTRY, IMPORT_COUNTRY)
                    ]
                )
        finally:
            service.stop()
        return {
            "batch_ingest": batch,
            "single_push": single,
            "two_processes": replicas,
            "country_summary": summary,
            "push_during_import": during_import,
            "giga_meter": giga,
            "memory": {
                "max_rss_mb": round(max(service.rss_samples, default=0.0), 1),
                "samples": len(service.rss_samples),
                "target_max_rss_mb": 250,
            },
        }


def machine() -> dict[str, Any]:
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gb": round(total_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def verdict(ok: bool) -> str:
    return "meets" if ok else "BELOW"


def giga_rows(giga: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    if not giga:
        return
    if single := giga.get("single"):
        yield (
            f"Giga Meter single POST ({single['payload_bytes']:,} B), 64 cl., req/s",
            f"{single['giga_per_second']:,}",
            f"native {single['native_per_second']:,}/s = {single['ratio_to_native']:.0%}",
            f">=80%: {verdict(single['ratio_to_native'] >= 0.8)}",
        )
        yield (
            "Giga Meter single POST p99 ms",
            f"{single['giga_p99_ms']} (p50 {single['giga_p50_ms']})",
            f"native p99 {single['native_p99_ms']} ms",
            f"<100 ms: {verdict(single['giga_p99_ms'] < 100)}",
        )
    for per_request in BACKLOG_SIZES if "backlog" in giga else ():
        backlog = giga["backlog"][f"per_request_{per_request}"]
        yield (
            f"measurements/multiple, {per_request:,}/request, msr/s",
            f"{backlog['giga_per_second']:,}",
            f"native batch {backlog['native_per_second']:,}/s = {backlog['ratio_to_native']:.0%}",
            f">=50%: {verdict(backlog['ratio_to_native'] >= 0.5)}",
        )
    yield (
        "Giga Meter phases: verify differences",
        str(giga["verify_differences"]),
        "",
        f"0: {verdict(giga['verify_differences'] == 0)}",
    )


def table(results: dict[str, Any]) -> Iterator[str]:
    yield f"{'database':<11} {'figure':<46} {'value':>14} {'baseline / ratio':>26}  target"
    for kind, r in results["databases"].items():
        b, s, c, m = r["batch_ingest"], r["single_push"], r["country_summary"], r["memory"]
        for figure, value, baseline, target in giga_rows(r["giga_meter"]):
            yield f"{kind:<11} {figure:<46} {value:>14} {baseline:>26}  {target}"
        if not (b and s and c):
            if not r["giga_meter"]:
                yield f"{kind:<11} {json.dumps(r)}"
            continue
        rows = [
            (
                "batch ingest (HTTP, 1,000/batch) msr/s",
                f"{b['http_per_second']:,}",
                f"raw {b['raw_bulk_per_second']:,}/s = {b['ratio_to_raw']:.0%}",
                f">=50,000/s: {verdict(b['http_per_second'] >= 50_000)}, "
                f">=25%: {verdict(b['ratio_to_raw'] >= 0.25)}",
            ),
            (
                "  floor: raw insert committed per 1,000 rows",
                f"{b['raw_committed_per_batch_per_second']:,}",
                f"HTTP = {b['ratio_to_raw_committed_per_batch']:.0%} of it",
                f"50,000/s within the floor: "
                f"{'yes' if b['raw_committed_per_batch_per_second'] >= 50_000 else 'NO'}",
            ),
            (
                "single pushes, 64 clients, req/s",
                f"{s['push_per_second']:,}",
                f"trivial {s['trivial_per_second']:,}/s = {s['ratio_to_trivial']:.0%}",
                f">=40%: {verdict(s['ratio_to_trivial'] >= 0.4)}",
            ),
            (
                "single pushes p99 ms",
                f"{s['push_p99_ms']} (p50 {s['push_p50_ms']})",
                f"trivial p99 {s['trivial_p99_ms']} ms",
                f"<100 ms: {verdict(s['push_p99_ms'] < 100)}",
            ),
            (
                f"country summary p95 ms ({c['schools']:,} sch, {c['measurements']:,} msr)",
                f"{c['endpoint_p95_ms']}",
                f"raw {c['raw_rows_ms']:,} ms = {c['speedup_vs_raw']:,}x",
                f"<25 ms, >=100x: "
                f"{verdict(c['endpoint_p95_ms'] < 25 and c['speedup_vs_raw'] >= 100)}",
            ),
            (
                "batch ingest through 2 processes, msr/s",
                f"{r['two_processes'].get('http_per_second', 'n/a')}",
                f"1 process {b['http_per_second']:,}/s",
                "",
            ),
            (
                "verify: differences after each phase",
                ", ".join(
                    str(phase.get("verify_differences", "-"))
                    for phase in (b, s, r["two_processes"], c)
                ),
                "batch, single, 2 processes, summary",
                "0: "
                + verdict(
                    all(
                        not phase.get("verify_differences")
                        for phase in (b, s, r["two_processes"], c)
                    )
                ),
            ),
            (
                "service max RSS MB",
                f"{m['max_rss_mb']}",
                f"{m['samples']} samples",
                f"<250 MB: {verdict(m['max_rss_mb'] < 250)}",
            ),
        ]
        if i := r.get("push_during_import"):
            rows.append(
                (
                    f"pushes during a {i['import_rows']:,}-row import, p99 ms",
                    f"{i['push_p99_ms']} (p50 {i['push_p50_ms']})",
                    f"no import: p99 {i['quiet_push_p99_ms']} ms",
                    f"<500 ms: {verdict(i['push_p99_ms'] < 500)}",
                )
            )
        for figure, value, baseline, target in rows:
            yield f"{kind:<11} {figure:<46} {value:>14} {baseline:>26}  {target}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="small sizes, about 2 minutes")
    parser.add_argument(
        "--only",
        default="batch,single,replicas,summary,import,giga",
        help="comma-separated subset, e.g. --only giga for the Giga Meter phases alone "
        "(giga-single, giga-backlog: one of them)",
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started = time.perf_counter()
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "databases": {},
    }
    for kind in kinds:
        results["databases"][kind] = asyncio.run(run_for(kind, sizes, set(args.only.split(","))))
    results["seconds"] = round(time.perf_counter() - started, 1)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "school-monitor.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"machine: {results['machine']}")
    for line in table(results):
        print(line)
    print(f"({results['seconds']} s; JSON in {OUT_DIR / 'school-monitor.json'})")


if __name__ == "__main__":
    main()
