"""What the fault and concurrency tests share: the real service in a process of its own
(under uvicorn, to be SIGKILLed or frozen), the service in this process on a database of
the test's own, the agents' payloads, what is stored, and `verify` as the oracle."""

import asyncio
import itertools
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.engine import make_url

from c2r_common.auth import mint_token
from c2r_common.db import Database
from c2r_common.settings import DEVELOPMENT_JWT_SECRET, Environment
from c2r_common.testing import asgi_client
from school_monitor.app import create_app
from school_monitor.bulk import Columns
from school_monitor.config import SchoolMonitorSettings
from school_monitor.ingestion.writer import MEASUREMENTS
from school_monitor.integrity.figures import Difference
from school_monitor.integrity.rebuild import RebuildReport, rebuild
from school_monitor.integrity.verify import verify
from school_monitor.measurements.models import Measurement, Ping
from school_monitor.schools.models import School

# The machine is shared and slow at times: waits are generous, assertions are on outcomes.
READY_TIMEOUT_SECONDS = 90.0
WAIT_TIMEOUT_SECONDS = 30.0
POLL_SECONDS = 0.02

ADMIN = {
    "Authorization": "Bearer "
    + mint_token(DEVELOPMENT_JWT_SECRET, subject="fault-tests", scopes=["admin"])
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServiceProcess:
    """The real service under uvicorn, in its own process, on `url`. Its log goes to
    `log_path`, so that a failing test can show what the service said."""

    def __init__(self, url: str, log_path: Path, **settings: str) -> None:
        self.env = os.environ | {
            "C2R_SCHOOLS_DATABASE_URL": url,
            "C2R_SCHOOLS_LOG_LEVEL": "WARNING",
        }
        self.env |= {f"C2R_SCHOOLS_{name.upper()}": value for name, value in settings.items()}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "school_monitor", "serve", "--port", str(self.port)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=subprocess.DEVNULL, stderr=log
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def wait_ready(self) -> None:
        deadline = asyncio.get_running_loop().time() + READY_TIMEOUT_SECONDS
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            while asyncio.get_running_loop().time() < deadline:
                assert self.process is not None
                assert self.process.poll() is None, self.log()
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"the service did not become ready:\n{self.log()}")

    def freeze(self) -> None:
        """SIGSTOP: every thread stops where it is, an open transaction stays open."""
        os.kill(self.pid, signal.SIGSTOP)

    def process_continue(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=WAIT_TIMEOUT_SECONDS)

    def kill_if_running(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


@asynccontextmanager
async def service_processes(
    url: str, folder: Path, count: int = 1, **settings: str
) -> AsyncIterator[list[ServiceProcess]]:
    """`count` service processes on one database, started together, killed at the end."""
    processes = [ServiceProcess(url, folder / f"service-{n}.log", **settings) for n in range(count)]
    try:
        for process in processes:
            process.start()
        await asyncio.gather(*(process.wait_ready() for process in processes))
        yield processes
    finally:
        for process in processes:
            process.kill_if_running()


def app_settings(url: str, **overrides: Any) -> SchoolMonitorSettings:
    """The settings the tests run the service with, in a process of its own or in this
    one: no background loop, so that only the test's own requests write."""
    values: dict[str, Any] = {
        "database_url": url,
        "environment": Environment.TEST,
        "background_interval_seconds": 0,
    }
    return SchoolMonitorSettings(**(values | overrides))


@asynccontextmanager
async def running_app(url: str, **overrides: Any) -> AsyncIterator[FastAPI]:
    """The service in this process on `url`, every commit real."""
    app = create_app(app_settings(url, **overrides))
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def admin_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, ADMIN) as http:
        yield http


async def differences(
    app: FastAPI, country: str | None = None, now: datetime | None = None
) -> list[Difference]:
    """The oracle: every derived value that differs from what the raw rows say."""
    database: Database = app.state.database
    async with database.sessionmaker() as session:
        return await verify(session, app.state.settings, country, now=now)


async def rebuilt(
    app: FastAPI, country: str | None = None, now: datetime | None = None
) -> RebuildReport:
    database: Database = app.state.database
    async with database.sessionmaker() as session:
        return await rebuild(session, app.state.settings, country, now=now)


async def execute(app: FastAPI, statement: Any) -> None:
    """Runs and commits one statement, as an operator's direct UPDATE would."""
    database: Database = app.state.database
    async with database.sessionmaker() as session:
        await session.execute(statement)
        await session.commit()


async def assert_found_alone_and_repaired(
    app: FastAPI,
    statement: Any,
    where: tuple[str, tuple[Any, ...], str],
    stored: Any,
    now: datetime | None = None,
) -> None:
    """After the corrupting `statement`, verify reports exactly that one value (table, key,
    column) as `stored`, rebuild changes exactly it, and verify is clean again."""
    await execute(app, statement)
    [difference] = await differences(app, now=now)
    assert (difference.table, difference.key, difference.column) == where
    assert difference.stored == stored
    report = await rebuilt(app, now=now)
    assert [(c.table, c.key, c.column) for c in report.changes] == [where]
    assert await differences(app, now=now) == [], where


async def stored_uuids(app: FastAPI, model: type[Measurement] | type[Ping]) -> list[uuid.UUID]:
    """Every stored UUID of the table, as often as it is stored."""
    database: Database = app.state.database
    async with database.sessionmaker() as session:
        return list((await session.scalars(select(model.uuid))).all())


async def count_stored(app: FastAPI, uuids: Iterable[str]) -> int:
    wanted = {uuid.UUID(u) for u in uuids}
    return len(wanted.intersection(await stored_uuids(app, Measurement)))


# The agents' side.
def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def measurement(
    school_id: str, at: datetime | None = None, download: float = 25.0
) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "school_id": school_id,
        "measured_at": (at or ago(minutes=1)).isoformat(),
        "download_mbps": download,
        "upload_mbps": download / 2,
        "latency_ms": 100.0 - min(download, 90.0),
    }


def ping(school_id: str, at: datetime | None = None, connected: bool = True) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "school_id": school_id,
        "timestamp": (at or ago(minutes=1)).isoformat(),
        "is_connected": connected,
        "latency_ms": 30.0,
    }


async def create_school(http: httpx.AsyncClient, country: str = "RWA") -> str:
    giga_id = f"fault-{uuid.uuid4().hex[:12]}"
    body = {"giga_id": giga_id, "name": "GS Fault", "country_iso3": country}
    response = await http.post("/v1/schools", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def register_agent(http: httpx.AsyncClient, school_id: str) -> dict[str, str]:
    """A device token for the school: its Authorization header."""
    body = {"school_id": school_id, "hardware_id": f"hw-{uuid.uuid4().hex}"}
    response = await http.post("/v1/agents", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def post_batch(
    http: httpx.AsyncClient, items: list[dict[str, Any]], path: str = "/v1/measurements/batch"
) -> httpx.Response:
    return await http.post(path, json={"items": items}, headers=ADMIN)


def assert_retry_later(response: httpx.Response) -> None:
    """A transient failure's answer: 503 problem+json with Retry-After."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert int(response.headers["retry-after"]) > 0


# PostgreSQL from outside the service: the tests' own sessions.
async def pg_connect(url: str, **server_settings: str) -> asyncpg.Connection:
    parsed = make_url(url)
    return await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
        server_settings=server_settings,
    )


async def wait_until_blocked_by(monitor: asyncpg.Connection, blocker_pid: int) -> int:
    """The pid of a backend of the monitor's database waiting for a lock `blocker_pid`
    holds, once there is one."""
    query = (
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND $1 = ANY(pg_blocking_pids(pid)) ORDER BY backend_start LIMIT 1"
    )
    return int(await poll(lambda: monitor.fetchval(query, blocker_pid), "a session blocked"))


async def wait_until(
    condition: Callable[[], bool], what: str, within: float = WAIT_TIMEOUT_SECONDS
) -> None:
    """Waits until `condition()` holds (what other tasks of this test do makes it hold)."""

    async def probe() -> bool:
        return condition()

    await poll(probe, what, within)


async def poll(probe: Any, what: str, within: float = WAIT_TIMEOUT_SECONDS) -> Any:
    """Awaits `probe()` until it returns something truthy (within `within` s); that value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if found := await probe():
            return found
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"waited {within} s for {what}")


# Agents pushing under load while faults happen, and what they were told.
RETRY_PAUSE_SECONDS = 0.05  # agents wait Retry-After; the tests need the answers sooner
GIVE_UP_SECONDS = 60.0


@dataclass(frozen=True)
class Answer:
    sent_at: float
    answered_at: float
    status: int
    retry_after: str | None
    content_type: str
    body: str


@dataclass
class Ledger:
    """Every item the agents sent, those acknowledged (200/201), and every answer."""

    sent: set[str] = field(default_factory=set)
    acknowledged: set[str] = field(default_factory=set)
    answers: list[Answer] = field(default_factory=list)

    def unexpected(self) -> list[Answer]:
        """Answers other than an acknowledgement or a 503 with Retry-After."""
        return [
            a
            for a in self.answers
            if a.status not in {200, 201}
            and not (
                a.status == 503
                and a.retry_after is not None
                and a.content_type.startswith("application/problem+json")
            )
        ]


Request = tuple[str, dict[str, Any], dict[str, str], list[str]]  # path, body, headers, uuids


async def send_until_acknowledged(
    http: httpx.AsyncClient, request: Request, ledger: Ledger
) -> None:
    """Sends the request, and again with the same body while answered 503, as an agent
    does; records every answer. Any other answer ends it unacknowledged."""
    path, body, headers, uuids = request
    ledger.sent.update(uuids)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + GIVE_UP_SECONDS
    while loop.time() < give_up:
        sent_at = loop.time()
        response = await http.post(path, json=body, headers=headers)
        answer = Answer(
            sent_at,
            loop.time(),
            response.status_code,
            response.headers.get("retry-after"),
            response.headers.get("content-type", ""),
            response.text[:500],
        )
        ledger.answers.append(answer)
        if response.status_code in {200, 201}:
            ledger.acknowledged.update(uuids)
            return
        if response.status_code != 503:
            return
        await asyncio.sleep(RETRY_PAUSE_SECONDS)
    raise AssertionError(f"{path} still answered 503 after {GIVE_UP_SECONDS} s")


async def push_until(
    stop: asyncio.Event,
    http: httpx.AsyncClient,
    ledger: Ledger,
    next_request: Callable[[], Request],
) -> None:
    """One agent: a request after another until `stop`, each until acknowledged."""
    while not stop.is_set():
        await send_until_acknowledged(http, next_request(), ledger)


def batch_request(schools: list[str], size: int = 40) -> Request:
    """A relay's batch, with the Idempotency-Key its re-sends keep."""
    items = [measurement(schools[n % len(schools)], download=float(n % 60)) for n in range(size)]
    headers = ADMIN | {"Idempotency-Key": str(uuid.uuid4())}
    return "/v1/measurements/batch", {"items": items}, headers, [i["uuid"] for i in items]


def single_request(device: dict[str, str], school: str, n: int) -> Request:
    if n % 3 == 2:
        item = ping(school, connected=n % 2 == 0)
        return "/v1/pings", item, device, [item["uuid"]]
    item = measurement(school, download=float(n % 40))
    return "/v1/measurements", item, device, [item["uuid"]]


Agent = Callable[[], Request]  # an agent's next request


async def agents_of_new_schools(http: httpx.AsyncClient, relays: int, devices: int) -> list[Agent]:
    """Rwandan schools and their agents: `relays` sending batches for all of them, and
    `devices` (one per school, with a device token) pushing single measurements and
    ping checks."""
    schools = [await create_school(http) for _ in range(max(devices, 2))]
    agents: list[Agent] = [lambda: batch_request(schools)] * relays
    for school in schools[:devices]:
        device, counter = await register_agent(http, school), itertools.count()
        agents.append(lambda d=device, s=school, c=counter: single_request(d, s, next(c)))
    return agents


def start_agents(
    http: httpx.AsyncClient, stop: asyncio.Event, ledger: Ledger, agents: list[Agent]
) -> list["asyncio.Task[None]"]:
    """Every agent pushing until `stop`."""
    return [asyncio.create_task(push_until(stop, http, ledger, agent)) for agent in agents]


async def assert_nothing_lost_or_doubled(app: FastAPI, ledger: Ledger) -> None:
    """Every acknowledged item is stored exactly once, nothing unsent is stored, every
    answer was an acknowledgement or a 503 with Retry-After, and verify finds nothing."""
    assert ledger.unexpected() == []
    stored = [str(u) for u in await stored_uuids(app, Measurement)]
    stored += [str(u) for u in await stored_uuids(app, Ping)]
    doubled = [u for u, times in Counter(stored).items() if times > 1]
    assert doubled == []
    assert ledger.acknowledged - set(stored) == set(), "acknowledged but not stored"
    assert set(stored) - ledger.sent == set()
    assert await differences(app) == []


async def committed_school(database: Database, country: str = "RWA") -> uuid.UUID:
    """A school committed in a transaction of its own."""
    school = School(giga_id=f"giga-{uuid.uuid4().hex[:12]}", name="GS", country_iso3=country)
    async with database.sessionmaker() as session:
        session.add(school)
        await session.commit()
    return school.id


def measurement_columns(
    school_id: uuid.UUID, uuids: list[uuid.UUID], moment: datetime, received: datetime
) -> Columns:
    """Rows for the writer's bulk measurement insert, column by column."""
    count = len(uuids)
    rows = {
        "uuid": uuids,
        "school_id": [school_id] * count,
        "measured_at": [moment] * count,
        "received_at": [received] * count,
        "download_mbps": [25.0] * count,
        "upload_mbps": [10.0] * count,
        "latency_ms": [40.0] * count,
        "source": ["native"] * count,
    }
    return {name: rows.get(name, [None] * count) for name in MEASUREMENTS.column_types}
